package keys

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/geminigateway/gateway/shared/secrets"
	"github.com/geminigateway/gateway/shared/secrets/secretstest"
	"go.uber.org/goleak"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

const (
	testSecret  = "projects/p/secrets/client-keys"
	testVersion = testSecret + "/versions/latest"
	testRefresh = 20 * time.Millisecond
)

// newRawKey returns a fresh random key and its document entry.
func newRawKey(t *testing.T, name string) (string, Entry) {
	t.Helper()
	b := make([]byte, 32)
	rand.Read(b)
	raw := "gk-" + base64.RawURLEncoding.EncodeToString(b)
	return raw, Entry{Name: name, SHA256: HashKey(raw)}
}

func marshalDoc(t *testing.T, es ...Entry) []byte {
	t.Helper()
	b, err := (&Document{Keys: es}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// newSecretManager returns the real client pointed at the fake, closed when the test ends.
func newSecretManager(t *testing.T, f *secretstest.Server) *secrets.Client {
	t.Helper()
	sm, err := secrets.New(context.Background(), f.ClientOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sm.Close() })
	return sm
}

// logBuffer collects slog output from the refresh goroutine and the test alike.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func captureLog() (*slog.Logger, *logBuffer) {
	b := &logBuffer{}
	return slog.New(slog.NewJSONHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug})), b
}

// assertNoKeyMaterial fails if any raw key, its hex hash, or a 12-digit prefix of the hash
// appears in logs.
func assertNoKeyMaterial(t *testing.T, logs string, raws ...string) {
	t.Helper()
	lower := strings.ToLower(logs)
	for _, raw := range raws {
		h := HashKey(raw)
		for _, s := range []string{raw, raw[3:], h, h[:12]} {
			if strings.Contains(lower, strings.ToLower(s)) {
				t.Errorf("logs hold key material %.8s…:\n%s", s, logs)
			}
		}
	}
}

// eventually polls cond until it holds or 10s pass; refresh intervals are short, so this
// normally returns within a few intervals.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func authenticates(st *Store, raw string) bool {
	_, ok := st.Lookup(raw)
	return ok
}

// TestLoadSecretRotation pins key rotation through Secret Manager: a key added in a new
// version starts working and a revoked or removed one stops, within the refresh interval,
// with no restart, and nothing in the logs identifies a key.
func TestLoadSecretRotation(t *testing.T) {
	f := secretstest.NewServer(t)
	f.AddSecret(testSecret)
	alice, ea := newRawKey(t, "alice")
	bob, eb := newRawKey(t, "bob")
	ea.Models = []string{"gemini-3.1-pro"}
	ea.RPM = 60
	f.AddVersion(testSecret, marshalDoc(t, ea))

	log, logs := captureLog()
	st, stop, err := Load(t.Context(), Config{Secret: testVersion, Refresh: testRefresh}, newSecretManager(t, f), log)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()

	k, ok := st.Lookup(alice)
	if !ok || k.Name != "alice" || k.RPM != 60 || !k.AllowsModel("gemini-3.1-pro") {
		t.Fatalf("Lookup(alice) = %+v, %v", k, ok)
	}
	if authenticates(st, bob) {
		t.Fatal("bob authenticated before being added")
	}

	ea.Disabled = true
	f.AddVersion(testSecret, marshalDoc(t, ea, eb))
	eventually(t, "bob works and revoked alice stops", func() bool {
		return authenticates(st, bob) && !authenticates(st, alice)
	})

	f.AddVersion(testSecret, marshalDoc(t, eb))
	eventually(t, "alice's entry is gone", func() bool {
		return st.set.Load().Len() == 1
	})
	if !authenticates(st, bob) {
		t.Error("bob stopped working")
	}

	stop()
	if !strings.Contains(logs.String(), `"msg":"client keys reloaded"`) {
		t.Errorf("no reload logged:\n%s", logs)
	}
	assertNoKeyMaterial(t, logs.String(), alice, bob)
}

// TestLoadFirstFailure pins start-up errors: one line that names the source and says what
// went wrong, with the gRPC status still reachable for callers.
func TestLoadFirstFailure(t *testing.T) {
	for _, tc := range []struct {
		name     string
		setup    func(*secretstest.Server)
		wantCode codes.Code
		want     string
	}{
		{
			name:     "permission denied",
			setup:    func(f *secretstest.Server) { f.AddSecret(testSecret); f.Deny(testSecret, codes.PermissionDenied) },
			wantCode: codes.PermissionDenied,
			want:     "permission denied (the caller needs roles/secretmanager.secretAccessor on the secret)",
		},
		{
			name:     "secret not found",
			setup:    func(*secretstest.Server) {},
			wantCode: codes.NotFound,
			want:     "not found",
		},
		{
			name:     "no versions",
			setup:    func(f *secretstest.Server) { f.AddSecret(testSecret) },
			wantCode: codes.NotFound,
			want:     "not found",
		},
		{
			name: "latest disabled",
			setup: func(f *secretstest.Server) {
				f.AddSecret(testSecret)
				f.AddVersion(testSecret, []byte(`{"keys":[]}`))
				f.DisableVersion(testSecret, 1)
			},
			wantCode: codes.FailedPrecondition,
			want:     "version not accessible",
		},
		{
			name: "bad document",
			setup: func(f *secretstest.Server) {
				f.AddSecret(testSecret)
				f.AddVersion(testSecret, []byte(`{"keys":[{"name":"a","sha256":"00"}]}`))
			},
			wantCode: codes.Unknown,
			want:     `keys[0] ("a"): sha256 must be 64 hex digits`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := secretstest.NewServer(t)
			tc.setup(f)
			st, stop, err := Load(t.Context(), Config{Secret: testVersion, Refresh: testRefresh}, newSecretManager(t, f), nil)
			if err == nil {
				stop()
				t.Fatalf("Load succeeded with %d keys", st.set.Load().Len())
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("error is not one line: %q", msg)
			}
			if !strings.HasPrefix(msg, "client keys from GATEWAY_KEYS_SECRET "+testVersion+": ") {
				t.Errorf("error does not name the source: %q", msg)
			}
			if !strings.Contains(msg, tc.want) {
				t.Errorf("error = %q, want it to contain %q", msg, tc.want)
			}
			if got := status.Code(err); got != tc.wantCode {
				t.Errorf("status.Code(err) = %v, want %v", got, tc.wantCode)
			}
		})
	}
}

// TestRefreshFailureKeepsLastGoodSet pins that a failing re-read (IAM revoked, a bad document
// pushed) neither drops the keys being served nor logs key material, and that the next good
// version is picked up.
func TestRefreshFailureKeepsLastGoodSet(t *testing.T) {
	f := secretstest.NewServer(t)
	f.AddSecret(testSecret)
	alice, ea := newRawKey(t, "alice")
	bob, eb := newRawKey(t, "bob")
	f.AddVersion(testSecret, marshalDoc(t, ea))

	log, logs := captureLog()
	st, stop, err := Load(t.Context(), Config{Secret: testVersion, Refresh: testRefresh}, newSecretManager(t, f), log)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()

	f.Deny(testSecret, codes.PermissionDenied)
	n := f.Accesses()
	eventually(t, "a denied refresh is logged", func() bool {
		return f.Accesses() >= n+2 && strings.Contains(logs.String(), "permission denied")
	})
	if !authenticates(st, alice) {
		t.Fatal("alice stopped working after a failed refresh")
	}

	f.Deny(testSecret, codes.OK)
	f.AddVersion(testSecret, []byte(`{"keys":[{"name":"bob","sha256":"`+eb.SHA256+`","rpm":"sixty"}]}`))
	n = f.Accesses()
	eventually(t, "a bad document is logged", func() bool {
		return f.Accesses() >= n+2 && strings.Contains(logs.String(), "cannot unmarshal")
	})
	if !authenticates(st, alice) || authenticates(st, bob) {
		t.Fatal("a bad document changed the served set")
	}

	f.AddVersion(testSecret, marshalDoc(t, ea, eb))
	eventually(t, "bob works after recovery", func() bool { return authenticates(st, bob) })
	stop()

	out := logs.String()
	for _, want := range []string{`"level":"WARN","msg":"client keys refresh failed; keeping the last good set"`, `"msg":"client keys refresh recovered"`} {
		if !strings.Contains(out, want) {
			t.Errorf("logs lack %s:\n%s", want, out)
		}
	}
	assertNoKeyMaterial(t, out, alice, bob)
}

// TestStopEndsRefresh pins that stop ends the refresh goroutine before it returns: no read
// happens afterwards and no goroutine is left behind.
func TestStopEndsRefresh(t *testing.T) {
	// Registered first, so it runs after the other cleanups have stopped the fake server.
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
	f := secretstest.NewServer(t)
	f.AddSecret(testSecret)
	f.AddVersion(testSecret, []byte(`{"keys":[]}`))
	sm, err := secrets.New(context.Background(), f.ClientOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	defer sm.Close()

	ca := &countingAccessor{SecretReader: sm}
	_, stop, err := Load(t.Context(), Config{Secret: testVersion, Refresh: time.Millisecond}, ca, nil)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "refreshes run", func() bool { return ca.n.Load() > 3 })
	stop()
	stop() // idempotent
	n := ca.n.Load()
	time.Sleep(20 * time.Millisecond)
	if got := ca.n.Load(); got != n {
		t.Errorf("%d reads after stop", got-n)
	}
}

// countingAccessor counts Access calls as the caller makes them.
type countingAccessor struct {
	SecretReader
	n atomic.Int64
}

func (c *countingAccessor) Access(ctx context.Context, name string) ([]byte, error) {
	c.n.Add(1)
	return c.SecretReader.Access(ctx, name)
}

// TestLoadFileRotation pins the file source: the same document, re-read on the interval.
func TestLoadFileRotation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keys.json")
	write := func(b []byte) {
		tmp := filepath.Join(dir, "tmp")
		if err := os.WriteFile(tmp, b, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
	}
	alice, ea := newRawKey(t, "alice")
	bob, eb := newRawKey(t, "bob")
	write(marshalDoc(t, ea))

	log, logs := captureLog()
	st, stop, err := Load(t.Context(), Config{File: path, Refresh: testRefresh}, nil, log)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	if !authenticates(st, alice) {
		t.Fatal("alice does not authenticate")
	}
	write(marshalDoc(t, eb))
	eventually(t, "the new file is served", func() bool { return authenticates(st, bob) && !authenticates(st, alice) })
	stop()
	assertNoKeyMaterial(t, logs.String(), alice, bob)

	_, _, err = Load(t.Context(), Config{File: filepath.Join(dir, "missing.json")}, nil, nil)
	if err == nil || !strings.HasPrefix(err.Error(), "client keys from GATEWAY_KEYS_FILE "+dir) {
		t.Errorf("missing file: err = %v", err)
	}
}

// TestLoadList pins the local source and the no-source error.
func TestLoadList(t *testing.T) {
	st, stop, err := Load(t.Context(), Config{List: "dev:gk-local-dev-key"}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	stop()
	if k, ok := st.Lookup("gk-local-dev-key"); !ok || k.Name != "dev" {
		t.Errorf("Lookup = %+v, %v", k, ok)
	}
	if _, _, err := Load(t.Context(), Config{}, nil, nil); err != ErrNoSource {
		t.Errorf("no source: err = %v, want ErrNoSource", err)
	}
	if _, _, err := Load(t.Context(), Config{Secret: testVersion}, nil, nil); err == nil || !strings.Contains(err.Error(), "no Secret Manager client") {
		t.Errorf("secret without client: err = %v", err)
	}
}

// TestNilSecretManager pins that a nil *secrets.Client passed as the accessor (the caller built
// none because nothing needed it) is an error, not a panic.
func TestNilSecretManager(t *testing.T) {
	var sm *secrets.Client
	_, _, err := Load(t.Context(), Config{Secret: testVersion}, sm, nil)
	if err == nil || !strings.Contains(err.Error(), "no Secret Manager client") {
		t.Errorf("Load: err = %v", err)
	}
}
