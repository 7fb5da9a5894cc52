package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"cloud.google.com/go/auth"
	"google.golang.org/api/option"

	"github.com/geminigateway/gateway/shared/config"
	"github.com/geminigateway/gateway/shared/googleauth"
	"github.com/geminigateway/gateway/shared/keys"
)

// secrets opens Secret Manager only when a setting refers to it, with the same Google
// credentials the upstream uses (ADC on Google Cloud, workload identity federation on AWS).
type secrets struct {
	creds *auth.Credentials
	sm    *keys.SecretManager
	keys  keys.Config // where client keys come from
}

func newSecrets(ctx context.Context, getenv func(string) string, cfg config.Config) (*secrets, func(), error) {
	s := &secrets{}
	var err error
	if s.keys, err = keys.ConfigFromEnv(getenv); err != nil {
		return nil, nil, err
	}
	needSM := s.keys.UsesSecretManager() || keys.IsSecretVersion(cfg.GeminiAPIKey)
	if cfg.Backend == "vertex" || needSM {
		if s.creds, err = googleauth.Credentials(ctx, getenv, nil); err != nil {
			return nil, nil, fmt.Errorf("google credentials: %w", err)
		}
	}
	if needSM {
		if s.sm, err = keys.NewSecretManager(ctx, option.WithAuthCredentials(s.creds)); err != nil {
			return nil, nil, fmt.Errorf("secret manager client: %w", err)
		}
	}
	return s, func() { _ = s.sm.Close() }, nil
}

// loadKeys loads client keys from GATEWAY_API_KEYS, GATEWAY_KEYS_FILE or GATEWAY_KEYS_SECRET
// (refreshed in the background). With none configured, a local run gets a generated key.
func loadKeys(ctx context.Context, getenv func(string) string, s *secrets, log *slog.Logger, closers *[]func()) (*keys.Store, string, error) {
	var sm keys.SecretAccessor
	if s.sm != nil {
		sm = s.sm
	}
	store, stop, err := keys.Load(ctx, s.keys, sm, log)
	switch {
	case errors.Is(err, keys.ErrNoSource) && getenv("GATEWAY_LOCAL") == "1":
		k := newLocalKey()
		set, err := keys.ParseList("local:" + k)
		if err != nil {
			return nil, "", err
		}
		return keys.NewStore(set), k, nil
	case errors.Is(err, keys.ErrNoSource):
		return nil, "", errNoKeys
	case err != nil:
		return nil, "", err
	}
	*closers = append(*closers, stop)
	return store, "", nil
}
