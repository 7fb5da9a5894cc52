package secrets

import (
	"strings"
	"testing"

	"github.com/geminigateway/gateway/shared/secrets/secretstest"
)

// newClient returns the real client pointed at the fake, closed when the test ends.
func newClient(t *testing.T, f *secretstest.Server) *Client {
	t.Helper()
	c, err := New(t.Context(), f.ClientOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestResolve pins GEMINI_API_KEY handling: a plain value passes through, a secret
// version name becomes its trimmed payload, and a failure names the secret.
func TestResolve(t *testing.T) {
	f := secretstest.NewServer(t)
	f.AddSecret("projects/p/secrets/gemini")
	f.AddVersion("projects/p/secrets/gemini", []byte("  AIza-test-key\n"))
	sm := newClient(t, f)
	ctx := t.Context()

	for _, tc := range []struct{ in, want, wantErr string }{
		{in: "AIza-plain", want: "AIza-plain"},
		{in: "projects/p/secrets/gemini", want: "projects/p/secrets/gemini"}, // not a version name
		{in: "projects/p/secrets/gemini/versions/latest", want: "AIza-test-key"},
		{in: "projects/p/secrets/gemini/versions/1", want: "AIza-test-key"},
		{in: "projects/p/secrets/other/versions/latest", wantErr: "secret projects/p/secrets/other/versions/latest: not found"},
	} {
		got, err := Resolve(ctx, sm, tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
				t.Errorf("Resolve(%q) err = %v, want %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Resolve(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	if _, err := Resolve(ctx, nil, "projects/p/secrets/gemini/versions/latest"); err == nil {
		t.Error("nil accessor: no error")
	}
}

// TestNilClient pins that a nil *Client passed as the accessor (the caller built none because
// nothing needed it) is an error, not a panic.
func TestNilClient(t *testing.T) {
	var c *Client
	if _, err := Resolve(t.Context(), c, "projects/p/secrets/g/versions/1"); err == nil {
		t.Error("Resolve: no error")
	}
}
