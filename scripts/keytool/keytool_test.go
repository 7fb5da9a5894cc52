package main

import (
	"bytes"
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/geminigateway/gateway/shared/keys"
	"github.com/geminigateway/gateway/shared/secrets"
	"github.com/geminigateway/gateway/shared/secrets/secretstest"
	"google.golang.org/grpc/codes"
)

const secret = "projects/p/secrets/client-keys"

// tool runs keytool in-process against the fake, as `make key` would against Secret Manager.
func tool(t *testing.T, f *secretstest.Server, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	env := map[string]string{"GATEWAY_KEYS_SECRET": secret + "/versions/latest", "GATEWAY_SECRETMANAGER_ENDPOINT": f.Addr}
	var out, errOut bytes.Buffer
	err = run(t.Context(), append(args, "--insecure"), func(k string) string { return env[k] }, &out, &errOut)
	return out.String(), errOut.String(), err
}

var keyPattern = regexp.MustCompile(`^gk-[A-Za-z0-9_-]{43}\n$`)

// TestAddListRevoke pins the key tool's round trip through Secret Manager: add prints a strong
// key once and stores only its hash in a new version, the gateway's Load reads that version
// and authenticates the key with the limits given, list shows no full hash, and revoke makes
// the key stop working on a running gateway.
func TestAddListRevoke(t *testing.T) {
	f := secretstest.NewServer(t)
	f.AddSecret(secret)
	f.AddVersion(secret, []byte(`{"keys":[]}`)) // what terraform writes

	out, msg, err := tool(t, f, "add", "alice", "--models", "gemini-3.1-pro, gemini-2.5-flash", "--rpm", "60")
	if err != nil {
		t.Fatalf("add: %v\n%s", err, msg)
	}
	if !keyPattern.MatchString(out) {
		t.Fatalf("add printed %q, want one gk- key of 32 random bytes", out)
	}
	alice := strings.TrimSpace(out)
	if !strings.Contains(msg, secret+"/versions/2") {
		t.Errorf("add did not name the new version: %s", msg)
	}
	latest := string(f.Latest(secret))
	if strings.Contains(latest, alice) || !strings.Contains(latest, keys.HashKey(alice)) {
		t.Fatalf("secret holds the key or lacks its hash:\n%s", latest)
	}

	out, _, err = tool(t, f, "add", "--rpm", "5", "bob") // flags before the name work too
	if err != nil {
		t.Fatal(err)
	}
	bob := strings.TrimSpace(out)
	if bob == alice {
		t.Fatal("two adds printed the same key")
	}
	if _, _, err := tool(t, f, "add", "alice"); err == nil || !strings.Contains(err.Error(), `"alice" exists already`) {
		t.Errorf("second add alice: err = %v", err)
	}

	// The document loads through the gateway's own path and the printed keys authenticate.
	sm, err := secrets.New(context.Background(), f.ClientOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	defer sm.Close()
	st, stop, err := keys.Load(t.Context(), keys.Config{Secret: secret + "/versions/latest", Refresh: 20 * time.Millisecond}, sm, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	k, ok := st.Lookup(alice)
	if !ok || k.Name != "alice" || k.RPM != 60 || !k.AllowsModel("gemini-2.5-flash") || k.AllowsModel("gemini-3.0-pro") {
		t.Fatalf("Lookup(alice) = %+v, %v", k, ok)
	}
	if k, ok := st.Lookup(bob); !ok || k.RPM != 5 || !k.AllowsModel("anything") {
		t.Fatalf("Lookup(bob) = %+v, %v", k, ok)
	}

	out, _, err = tool(t, f, "list")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"NAME", "alice", "gemini-3.1-pro,gemini-2.5-flash", "60", "bob", "all", "active", keys.HashKey(alice)[:8] + "…"} {
		if !strings.Contains(out, want) {
			t.Errorf("list lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, keys.HashKey(alice)[:9]) || strings.Contains(out, alice) {
		t.Errorf("list shows more than a hash prefix:\n%s", out)
	}

	if _, msg, err := tool(t, f, "revoke", "alice"); err != nil {
		t.Fatalf("revoke: %v\n%s", err, msg)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, ok := st.Lookup(alice); !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("revoked key still authenticates")
		}
		time.Sleep(2 * time.Millisecond)
	}
	if _, ok := st.Lookup(bob); !ok {
		t.Error("revoking alice stopped bob")
	}
	out, _, _ = tool(t, f, "list")
	if !regexp.MustCompile(`alice .* revoked`).MatchString(out) {
		t.Errorf("list does not show alice revoked:\n%s", out)
	}
	n := f.Versions(secret)
	if _, msg, err := tool(t, f, "revoke", "alice"); err != nil || !strings.Contains(msg, "already revoked") || f.Versions(secret) != n {
		t.Errorf("second revoke: err = %v, msg = %q, versions %d -> %d", err, msg, n, f.Versions(secret))
	}
	if _, _, err := tool(t, f, "revoke", "carol"); err == nil || !strings.Contains(err.Error(), `no key named "carol"`) {
		t.Errorf("revoke carol: err = %v", err)
	}
}

// TestAddToSecretWithoutVersions pins the first add on a secret created without a version.
func TestAddToSecretWithoutVersions(t *testing.T) {
	f := secretstest.NewServer(t)
	f.AddSecret(secret)
	out, _, err := tool(t, f, "add", "first")
	if err != nil {
		t.Fatal(err)
	}
	d, err := keys.ParseDocument(f.Latest(secret))
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Keys) != 1 || d.Keys[0].SHA256 != keys.HashKey(strings.TrimSpace(out)) {
		t.Errorf("document = %+v", d)
	}
}

// TestErrors pins the messages an operator sees for the usual mistakes.
func TestErrors(t *testing.T) {
	f := secretstest.NewServer(t)
	f.AddSecret(secret)
	f.AddVersion(secret, []byte(`{"keys":[]}`))

	for _, tc := range []struct {
		name  string
		setup func()
		args  []string
		want  string
		usage bool
	}{
		{name: "no command", args: nil, usage: true},
		{name: "unknown command", args: []string{"rotate"}, want: `unknown command "rotate"`, usage: true},
		{name: "add without name", args: []string{"add"}, want: "add takes 1 argument(s), got 0", usage: true},
		{name: "bad flag", args: []string{"add", "x", "--rpm", "many"}, want: `invalid value "many"`, usage: true},
		{name: "bad name", args: []string{"add", "a b"}, want: `key name "a b"`},
		{name: "negative rpm", args: []string{"add", "x", "--rpm", "-1"}, want: "--rpm -1"},
		{name: "missing secret", args: []string{"list", "--secret", "projects/p/secrets/nope"}, want: "projects/p/secrets/nope: secret does not exist"},
		{name: "bad secret name", args: []string{"list", "--secret", "client-keys"}, want: `"client-keys" is not a secret name`},
		{
			name:  "permission denied",
			setup: func() { f.Deny(secret, codes.PermissionDenied) },
			args:  []string{"add", "x"},
			want:  "permission denied (the caller needs roles/secretmanager.secretAccessor on the secret)",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.setup != nil {
				tc.setup()
			}
			stdout, _, err := tool(t, f, tc.args...)
			if err == nil {
				t.Fatalf("no error; stdout %q", stdout)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
			if errors.Is(err, errUsage) != tc.usage {
				t.Errorf("usage error = %v, want %v", errors.Is(err, errUsage), tc.usage)
			}
			if stdout != "" {
				t.Errorf("stdout = %q on failure", stdout)
			}
		})
	}
}

// TestInsecureNeedsLoopback pins that --insecure never sends the document in plaintext off the
// machine.
func TestInsecureNeedsLoopback(t *testing.T) {
	err := run(t.Context(), []string{"list", "--secret", secret, "--endpoint", "secretmanager.googleapis.com:443", "--insecure"},
		func(string) string { return "" }, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "--insecure needs a loopback --endpoint") {
		t.Errorf("err = %v", err)
	}
}
