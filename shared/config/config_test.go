package config

import (
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// TestBackendSelection pins the default backend: vertex with a project, gemini with a key, else
// the emulator with a notice; and the per-backend media fetch default.
func TestBackendSelection(t *testing.T) {
	for _, tc := range []struct {
		env   map[string]string
		want  string
		fetch bool
	}{
		{map[string]string{}, "emulator", true},
		{map[string]string{"GOOGLE_CLOUD_PROJECT": "p"}, "vertex", false},
		{map[string]string{"GEMINI_API_KEY": "k"}, "gemini", true},
		{map[string]string{"GOOGLE_CLOUD_PROJECT": "p", "GATEWAY_BACKEND": "gemini", "GEMINI_API_KEY": "k"}, "gemini", true},
		{map[string]string{"GOOGLE_CLOUD_PROJECT": "p", "GATEWAY_FETCH_HTTP_MEDIA": "true"}, "vertex", true},
	} {
		c, err := Load(env(tc.env))
		if err != nil || string(c.Backend) != tc.want || c.FetchHTTPMedia != tc.fetch {
			t.Errorf("%v: backend %q fetch %v err %v", tc.env, c.Backend, c.FetchHTTPMedia, err)
		}
		if (tc.want == "emulator") != (c.BackendNotice != "") {
			t.Errorf("%v: notice %q", tc.env, c.BackendNotice)
		}
	}
}

// TestDefaultsAndParsing pins defaults and the accepted forms of durations and lists.
func TestDefaultsAndParsing(t *testing.T) {
	c, err := Load(env(map[string]string{"GATEWAY_UPSTREAM_TIMEOUT": "90", "GATEWAY_CORS_ORIGINS": "https://a.example, https://b.example", "GATEWAY_AUTH": "none"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Location != "global" || c.MaxBodyBytes != 32<<20 || c.UpstreamTimeout != 90*time.Second || c.RetryAttempts != 3 ||
		len(c.CORSOrigins) != 2 || !c.AuthNone || !c.IncludeThoughts || c.MediaMaxBytes != 20<<20 {
		t.Errorf("config = %+v", c)
	}
	if c.MediaMaxURLs != 16 || c.MediaMaxTotalBytes != 32<<20 || c.MediaFetchConcurrency != 4 {
		t.Errorf("media budgets = %d URLs, %d bytes, %d at once; want 16, 32 MiB, 4", c.MediaMaxURLs, c.MediaMaxTotalBytes, c.MediaFetchConcurrency)
	}
}

// TestBadSettings pins one line naming the setting.
func TestBadSettings(t *testing.T) {
	for k, v := range map[string]string{
		"GATEWAY_BACKEND": "bedrock", "GATEWAY_MAX_BODY_BYTES": "-1", "GATEWAY_UPSTREAM_TIMEOUT": "soon",
		"GATEWAY_INCLUDE_THOUGHTS": "maybe", "GATEWAY_AUTH": "magic", "GATEWAY_RETRY_ATTEMPTS": "0",
		"GATEWAY_MEDIA_MAX_URLS": "0", "GATEWAY_MEDIA_MAX_TOTAL_BYTES": "lots", "GATEWAY_MEDIA_FETCH_CONCURRENCY": "0",
	} {
		_, err := Load(env(map[string]string{k: v}))
		if err == nil || !strings.Contains(err.Error(), k) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s=%s: err = %v", k, v, err)
		}
	}
	if _, err := Load(env(map[string]string{"GATEWAY_BACKEND": "vertex"})); err == nil || !strings.Contains(err.Error(), "GOOGLE_CLOUD_PROJECT") {
		t.Errorf("vertex without project: %v", err)
	}
}
