package app

import (
	"context"
	"log/slog"

	"cloud.google.com/go/auth"
	"cloud.google.com/go/auth/credentials"

	"github.com/geminigateway/gateway/shared/config"
	"github.com/geminigateway/gateway/shared/keys"
)

type secretAccessor interface{}

func newSecrets(ctx context.Context, getenv func(string) string) (secretAccessor, func(), error) {
	return nil, func() {}, nil
}

func resolveSecret(ctx context.Context, sm secretAccessor, v string) (string, error) { return v, nil }

func googleCredentials(ctx context.Context, getenv func(string) string) (auth.TokenProvider, error) {
	return credentials.DetectDefault(&credentials.DetectOptions{Scopes: []string{"https://www.googleapis.com/auth/cloud-platform"}})
}

func loadKeys(ctx context.Context, cfg config.Config, getenv func(string) string, sm secretAccessor, log *slog.Logger, closers *[]func()) (*keys.Store, string, error) {
	if cfg.APIKeys == "" {
		if getenv("GATEWAY_LOCAL") == "1" {
			k := newLocalKey()
			set, err := keys.ParseList("local:" + k)
			return keys.NewStore(set), k, err
		}
		return nil, "", errNoKeys
	}
	set, err := keys.ParseList(cfg.APIKeys)
	if err != nil {
		return nil, "", err
	}
	return keys.NewStore(set), "", nil
}
