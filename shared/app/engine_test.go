package app

import (
	"context"
	"testing"

	"cloud.google.com/go/auth"

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
