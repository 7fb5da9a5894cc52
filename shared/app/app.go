// Package app assembles the gateway from its configuration: the upstream client (Vertex, the
// Developer API or the in-process emulator), credentials, client keys, the media fetcher and
// the handler. Entry points in functions/ call New once at start.
package app

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/geminigateway/gateway/shared/config"
	"github.com/geminigateway/gateway/shared/emulator"
	"github.com/geminigateway/gateway/shared/gateway"
	"github.com/geminigateway/gateway/shared/gemini"
	"github.com/geminigateway/gateway/shared/keys"
	"github.com/geminigateway/gateway/shared/media"
	"github.com/geminigateway/gateway/shared/store"
	"github.com/geminigateway/gateway/shared/translate"
)

// App is the assembled gateway.
type App struct {
	Handler *gateway.Handler
	Logger  *slog.Logger
	Config  config.Config
	// LocalKey is the key generated for a local run when none was configured.
	LocalKey string
	// Close stops background work (key refresh, the emulator).
	Close func()
}

// New builds the gateway from the environment read through getenv. Errors are one line naming
// the setting at fault. GATEWAY_LOCAL=1 (set by `make run`) lets a missing client key be
// generated and printed.
func New(ctx context.Context, getenv func(string) string) (*App, error) {
	cfg, err := config.Load(getenv)
	if err != nil {
		return nil, err
	}
	level := slog.LevelInfo
	switch strings.ToLower(cfg.LogLevel) {
	case "debug":
		level = slog.LevelDebug
	case "warn", "warning":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	}
	logger := gateway.NewLogger(os.Stderr, level)
	a := &App{Logger: logger, Config: cfg}
	var closers []func()
	a.Close = func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	fail := func(err error) (*App, error) { a.Close(); return nil, err }

	models, err := translate.NewModels(cfg.ModelAliases)
	if err != nil {
		return fail(fmt.Errorf("GATEWAY_MODEL_ALIASES: %w", err))
	}
	opts := gemini.Options{Backend: cfg.Backend, BaseURL: cfg.UpstreamURL, Project: cfg.Project, Location: cfg.Location,
		Timeout: cfg.UpstreamTimeout, Retry: gemini.RetryPolicy{MaxAttempts: cfg.RetryAttempts}}
	sec, closeSecrets, err := newSecrets(ctx, getenv, cfg)
	if err != nil {
		return fail(err)
	}
	closers = append(closers, closeSecrets)
	switch cfg.Backend {
	case gemini.Vertex:
		opts.Tokens = sec.creds
	case gemini.Developer:
		var sm keys.SecretAccessor
		if sec.sm != nil {
			sm = sec.sm
		}
		key, err := keys.ResolveSecret(ctx, sm, cfg.GeminiAPIKey)
		if err != nil {
			return fail(fmt.Errorf("GEMINI_API_KEY: %w", err))
		}
		opts.APIKey = key
	case gemini.Emulator:
		if opts.BaseURL == "" {
			url, stop, err := startEmulator()
			if err != nil {
				return fail(fmt.Errorf("starting the emulator: %w", err))
			}
			closers = append(closers, stop)
			opts.BaseURL = url
		}
		notice := "emulator backend: answers are canned, no cloud account is used"
		if cfg.BackendNotice != "" {
			notice = cfg.BackendNotice
		}
		logger.Info(notice)
	}
	client, err := gemini.New(opts)
	if err != nil {
		return fail(err)
	}

	var store *keys.Store
	if !cfg.AuthNone {
		store, a.LocalKey, err = loadKeys(ctx, getenv, sec, logger, &closers)
		if err != nil {
			return fail(err)
		}
		if a.LocalKey != "" {
			// Printed once, for the developer at the terminal: never through the logger.
			fmt.Fprintf(os.Stderr, "gateway: no client keys configured; local API key for this run: %s\n", a.LocalKey)
		}
	}
	responses, err := responsesStore(cfg, getenv)
	if err != nil {
		return fail(err)
	}
	fetcher := media.NewFetcher(media.Options{MaxBytes: cfg.MediaMaxBytes, Timeout: cfg.MediaTimeout, AllowPrivate: cfg.AllowPrivateFetch})
	a.Handler = gateway.New(gateway.Options{
		Client: client, Models: models, Keys: store, Fetcher: fetcher, FetchHTTPMedia: cfg.FetchHTTPMedia,
		IncludeThoughts: cfg.IncludeThoughts, MaxBodyBytes: cfg.MaxBodyBytes, CORSOrigins: cfg.CORSOrigins,
		MaxMessages: cfg.MaxMessages, MaxParts: cfg.MaxParts,
		KeepAlive: cfg.KeepAlive, Logger: logger, TraceProject: cfg.Project,
		Store: responses, SealKey: []byte(cfg.ResponsesKey),
	})
	return a, nil
}

// responsesStore is the store of the Responses API's stored responses: GATEWAY_STORE_DIR, or
// under `make run` (GATEWAY_LOCAL=1) a folder in the OS temp dir. Elsewhere it is nil (responses
// are not stored) until the deployment wires its bucket.
func responsesStore(cfg config.Config, getenv func(string) string) (store.Store, error) {
	dir := cfg.StoreDir
	if dir == "" && getenv("GATEWAY_LOCAL") == "1" {
		dir = filepath.Join(os.TempDir(), "gemini-gateway-store")
	}
	if dir == "" {
		return nil, nil
	}
	d, err := store.NewDir(dir)
	if err != nil {
		return nil, fmt.Errorf("GATEWAY_STORE_DIR: %w", err)
	}
	return d, nil
}

// startEmulator serves the emulator on a loopback port of this process.
func startEmulator() (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: emulator.Handler{}, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), func() { _ = srv.Close() }, nil
}

// newLocalKey returns a random key for a local run.
func newLocalKey() string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	return "gk-local-" + base64.RawURLEncoding.EncodeToString(b[:])
}

var errNoKeys = errors.New("no client keys configured: set GATEWAY_KEYS_SECRET, GATEWAY_KEYS_FILE or GATEWAY_API_KEYS, or GATEWAY_AUTH=none to rely on the platform's IAM")
