package app

import (
	"context"
	"strings"
	"testing"

	"cloud.google.com/go/auth"

	"github.com/geminigateway/gateway/shared/config"
	"github.com/geminigateway/gateway/shared/gemini"
	"github.com/geminigateway/gateway/shared/store"
)

type staticTokens struct{}

func (staticTokens) Token(context.Context) (*auth.Token, error) { return &auth.Token{Value: "t"}, nil }

// TestSelectEngine pins the batch engine per backend: Vertex AI batch prediction on the vertex
// backend when the store's Cloud Storage bucket is named or a staging bucket is open, Gemini
// Batch Mode on the Developer API, and nil (the handler's local engine) otherwise or without a
// store.
func TestSelectEngine(t *testing.T) {
	dir, err := store.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	vertex, err := gemini.New(gemini.Options{Backend: gemini.Vertex, Project: "p", Location: "global", Tokens: staticTokens{}})
	if err != nil {
		t.Fatal(err)
	}
	developer, err := gemini.New(gemini.Options{Backend: gemini.Developer, APIKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	staging, err := store.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		client  *gemini.Client
		st      store.Store
		bucket  string
		staging store.Store
		want    string // engine name; "" is nil
	}{
		{"vertex with bucket", vertex, dir, "gateway-store", nil, "vertex"},
		{"vertex without bucket (AWS)", vertex, dir, "", nil, ""},
		{"vertex with a staging bucket (AWS)", vertex, dir, "", staging, "vertex"},
		{"developer", developer, dir, "", nil, "gemini"},
		{"no store", vertex, nil, "gateway-store", nil, ""},
	} {
		e, err := selectEngine(tc.client.Backend(), tc.client, tc.st, tc.bucket, tc.staging, "staging-bucket")
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		got := ""
		if e != nil {
			got = e.Name()
		}
		if got != tc.want {
			t.Errorf("%s: engine %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestStagingBucketOpened pins GATEWAY_VERTEX_STAGING_BUCKET: on the vertex backend with a store
// that is not on Cloud Storage, the entry point's OpenStaging is called with the gateway's
// Google credentials and the bucket (and its client released on Close); an entry point that
// cannot open one fails at start naming the setting; with the store on Cloud Storage the
// setting is not used.
func TestStagingBucketOpened(t *testing.T) {
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", "")
	ext := `{"type":"external_account","audience":"//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/aws",` +
		`"subject_token_type":"urn:ietf:params:aws:token-type:aws4_request","token_url":"http://127.0.0.1:1/v1/token",` +
		`"credential_source":{"environment_id":"aws1","regional_cred_verification_url":"https://sts.{region}.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15"}}`
	cfg, err := config.Load(func(k string) string {
		return map[string]string{"GATEWAY_BACKEND": "vertex", "GOOGLE_CLOUD_PROJECT": "p", "GOOGLE_EXTERNAL_ACCOUNT_JSON": ext,
			"GATEWAY_API_KEYS": "client-key-123456", "GATEWAY_VERTEX_STAGING_BUCKET": "staging"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	dir, _ := store.NewDir(t.TempDir())

	if _, err := NewWith(t.Context(), cfg, Options{Store: dir}); err == nil || !strings.Contains(err.Error(), "GATEWAY_VERTEX_STAGING_BUCKET") {
		t.Errorf("without OpenStaging: %v, want an error naming the setting", err)
	}

	var opened []string
	closed := 0
	open := func(_ context.Context, creds *auth.Credentials, bucket string) (store.Store, func(), error) {
		if creds == nil {
			t.Error("OpenStaging got no credentials")
		}
		opened = append(opened, bucket)
		st, err := store.NewDir(t.TempDir())
		return st, func() { closed++ }, err
	}
	a, err := NewWith(t.Context(), cfg, Options{Store: dir, OpenStaging: open})
	if err != nil {
		t.Fatal(err)
	}
	a.Close()
	if len(opened) != 1 || opened[0] != "staging" || closed != 1 {
		t.Errorf("opened %v, closed %d; want the staging bucket once, released", opened, closed)
	}

	opened = nil
	a, err = NewWith(t.Context(), cfg, Options{Store: dir, VertexBucket: "store-bucket", OpenStaging: open})
	if err != nil {
		t.Fatal(err)
	}
	a.Close()
	if len(opened) != 0 {
		t.Errorf("with the store on Cloud Storage, opened %v", opened)
	}
}
