package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"cloud.google.com/go/auth"
	"google.golang.org/api/option"

	"github.com/geminigateway/gateway/shared/config"
	"github.com/geminigateway/gateway/shared/gemini"
	"github.com/geminigateway/gateway/shared/googleauth"
	"github.com/geminigateway/gateway/shared/keys"
	"github.com/geminigateway/gateway/shared/secrets"
)

// clients holds the Google credentials and the Secret Manager client, each built only when a
// setting needs it, with the same credentials the upstream uses (ADC on Google Cloud,
// workload identity federation on AWS).
type clients struct {
	creds *auth.Credentials
	sm    *secrets.Client
}

// accessor returns the Secret Manager client as a secrets.Accessor, nil when there is none.
func (c *clients) accessor() secrets.Accessor {
	if c.sm == nil {
		return nil
	}
	return c.sm
}

func newClients(ctx context.Context, cfg config.Config) (*clients, func(), error) {
	c := &clients{}
	needSM := cfg.Keys.UsesSecretManager() || secrets.IsVersion(cfg.GeminiAPIKey)
	if cfg.Backend == gemini.Vertex || needSM {
		var err error
		if c.creds, err = googleauth.Credentials(ctx, cfg.ExternalAccount, nil); err != nil {
			return nil, nil, fmt.Errorf("google credentials: %w", err)
		}
	}
	if needSM {
		var err error
		if c.sm, err = secrets.New(ctx, option.WithAuthCredentials(c.creds)); err != nil {
			return nil, nil, fmt.Errorf("secret manager client: %w", err)
		}
	}
	return c, func() { _ = c.sm.Close() }, nil
}

// loadKeys loads client keys from GATEWAY_API_KEYS, GATEWAY_KEYS_FILE or GATEWAY_KEYS_SECRET
// (refreshed in the background). With none configured, a local run gets a generated key.
func loadKeys(ctx context.Context, cfg config.Config, c *clients, log *slog.Logger, closers *[]func()) (*keys.Store, string, error) {
	store, stop, err := keys.Load(ctx, cfg.Keys, c.accessor(), log)
	switch {
	case errors.Is(err, keys.ErrNoSource) && cfg.Local:
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
