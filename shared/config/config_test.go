package config

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/geminigateway/gateway/shared/batch"
	"github.com/geminigateway/gateway/shared/keys"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// TestBackendSelection pins the default backend: vertex with a project, gemini with a key, else
// the emulator; and the per-backend media fetch default.
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
		if c.BackendChosen != (tc.env["GATEWAY_BACKEND"] == "") {
			t.Errorf("%v: BackendChosen = %v", tc.env, c.BackendChosen)
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
		"GATEWAY_KEEPALIVE": "0", "GATEWAY_MEDIA_TIMEOUT": "-1s", "GATEWAY_KEYS_REFRESH": "1 minute",
		"GATEWAY_LAMBDA_MODE": "BUFFERED!", "GATEWAY_BATCH_CONCURRENCY": "0",
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

// TestKeysBatchAndPlatformSettings pins the settings that used to be read by keys, batch and
// the Lambda adapter themselves: names, defaults, the one duration parser (zero turns key
// re-reading off) and the refusals.
func TestKeysBatchAndPlatformSettings(t *testing.T) {
	defKeys := keys.Config{Refresh: time.Minute}
	defBatch := batch.Config{Concurrency: 8, InputPrefix: "input/", OutputPrefix: "output/", MaxLines: 50000, BucketEngine: "auto", OnlineMaxLines: 500}
	for _, tc := range []struct {
		name    string
		env     map[string]string
		keys    keys.Config
		batch   batch.Config
		mode    string
		wantErr string
	}{
		{name: "defaults", keys: defKeys, batch: defBatch, mode: "stream"},
		{name: "secret", env: map[string]string{"GATEWAY_KEYS_SECRET": "projects/p/secrets/s"},
			keys: keys.Config{Secret: "projects/p/secrets/s", Refresh: time.Minute}, batch: defBatch, mode: "stream"},
		{name: "file and refresh in seconds", env: map[string]string{"GATEWAY_KEYS_FILE": "/etc/keys.json", "GATEWAY_KEYS_REFRESH": "15"},
			keys: keys.Config{File: "/etc/keys.json", Refresh: 15 * time.Second}, batch: defBatch, mode: "stream"},
		{name: "refresh off", env: map[string]string{"GATEWAY_KEYS_FILE": "k.json", "GATEWAY_KEYS_REFRESH": "0"},
			keys: keys.Config{File: "k.json"}, batch: defBatch, mode: "stream"},
		{name: "batch and buffered", env: map[string]string{"GATEWAY_BATCH_CONCURRENCY": " 32 ", "GATEWAY_INPUT_PREFIX": "jobs/in/",
			"GATEWAY_OUTPUT_PREFIX": "jobs/out/", "GATEWAY_OUTPUT_BUCKET": "results", "GATEWAY_LAMBDA_MODE": "buffered", "GATEWAY_BATCH_MAX_LINES": "1000"},
			keys: defKeys, batch: batch.Config{Concurrency: 32, InputPrefix: "jobs/in/", OutputPrefix: "jobs/out/", OutputBucket: "results", MaxLines: 1000,
				BucketEngine: "auto", OnlineMaxLines: 500}, mode: "buffered"},
		{name: "bucket engine forced", env: map[string]string{"GATEWAY_BATCH_BUCKET_ENGINE": " Batch ", "GATEWAY_BATCH_ONLINE_MAX_LINES": "2000"},
			keys: defKeys, batch: batch.Config{Concurrency: 8, InputPrefix: "input/", OutputPrefix: "output/", MaxLines: 50000,
				BucketEngine: "batch", OnlineMaxLines: 2000}, mode: "stream"},
		{name: "output under input is fine", env: map[string]string{"GATEWAY_INPUT_PREFIX": "jobs/", "GATEWAY_OUTPUT_PREFIX": "jobs/out/"},
			keys: defKeys, batch: batch.Config{Concurrency: 8, InputPrefix: "jobs/", OutputPrefix: "jobs/out/", MaxLines: 50000,
				BucketEngine: "auto", OnlineMaxLines: 500}, mode: "stream"},
		{name: "two key sources", env: map[string]string{"GATEWAY_KEYS_FILE": "k.json", "GATEWAY_API_KEYS": "gk-aaaaaaaa"}, wantErr: "set only one of"},
		{name: "negative refresh", env: map[string]string{"GATEWAY_KEYS_REFRESH": "-1s"}, wantErr: "GATEWAY_KEYS_REFRESH"},
		{name: "too many", env: map[string]string{"GATEWAY_BATCH_CONCURRENCY": "100000"}, wantErr: "GATEWAY_BATCH_CONCURRENCY"},
		{name: "not a number", env: map[string]string{"GATEWAY_BATCH_CONCURRENCY": "eight"}, wantErr: "GATEWAY_BATCH_CONCURRENCY"},
		{name: "no lines", env: map[string]string{"GATEWAY_BATCH_MAX_LINES": "0"}, wantErr: "GATEWAY_BATCH_MAX_LINES"},
		{name: "too many lines", env: map[string]string{"GATEWAY_BATCH_MAX_LINES": "1000001"}, wantErr: "GATEWAY_BATCH_MAX_LINES"},
		{name: "unknown bucket engine", env: map[string]string{"GATEWAY_BATCH_BUCKET_ENGINE": "vertex"}, wantErr: "GATEWAY_BATCH_BUCKET_ENGINE"},
		{name: "no online lines", env: map[string]string{"GATEWAY_BATCH_ONLINE_MAX_LINES": "0"}, wantErr: "GATEWAY_BATCH_ONLINE_MAX_LINES"},
		{name: "online lines not a number", env: map[string]string{"GATEWAY_BATCH_ONLINE_MAX_LINES": "many"}, wantErr: "GATEWAY_BATCH_ONLINE_MAX_LINES"},
		{name: "input under output", env: map[string]string{"GATEWAY_INPUT_PREFIX": "out/in/", "GATEWAY_OUTPUT_PREFIX": "out/"}, wantErr: "GATEWAY_INPUT_PREFIX"},
		{name: "lambda mode", env: map[string]string{"GATEWAY_LAMBDA_MODE": "streaming"}, wantErr: "GATEWAY_LAMBDA_MODE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load(env(tc.env))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || strings.Contains(err.Error(), "\n") {
					t.Fatalf("err = %v, want one line naming %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.keys, c.Keys); d != "" {
				t.Errorf("Keys (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tc.batch, c.Batch); d != "" {
				t.Errorf("Batch (-want +got):\n%s", d)
			}
			if c.LambdaMode != tc.mode || c.Port != "8080" {
				t.Errorf("LambdaMode %q Port %q", c.LambdaMode, c.Port)
			}
		})
	}
}

// TestDescribe pins the backend line `make run` prints first: the project and location for
// Vertex, that a key is set (never the key) for the Developer API, and why the emulator.
func TestDescribe(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"GOOGLE_CLOUD_PROJECT": "my-proj", "GOOGLE_CLOUD_LOCATION": "europe-west4"},
			"Gemini on Vertex AI, project my-proj, location europe-west4 (Application Default Credentials)"},
		{map[string]string{"GOOGLE_CLOUD_PROJECT": "p", "GOOGLE_EXTERNAL_ACCOUNT_JSON": "{}"},
			"Gemini on Vertex AI, project p, location global (workload identity federation)"},
		{map[string]string{"GEMINI_API_KEY": "AIza-secret"}, "Gemini Developer API (GEMINI_API_KEY is set)"},
		{nil, "offline Gemini emulator (canned answers, no cloud account; set GEMINI_API_KEY or GOOGLE_CLOUD_PROJECT for real Gemini)"},
		{map[string]string{"GATEWAY_BACKEND": "emulator"}, "offline Gemini emulator (canned answers, no cloud account)"},
	} {
		c, err := Load(env(tc.env))
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Describe(); got != tc.want {
			t.Errorf("%v: Describe = %q, want %q", tc.env, got, tc.want)
		}
	}
}
