package keys

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"
)

// DefaultRefresh is how often a key file or secret is re-read when GATEWAY_KEYS_REFRESH is unset.
const DefaultRefresh = time.Minute

// refreshTimeout bounds one re-read of the key source.
const refreshTimeout = 30 * time.Second

// ErrNoSource is returned by [Load] when no key source is configured.
var ErrNoSource = errors.New("no client keys configured: set GATEWAY_KEYS_SECRET, GATEWAY_KEYS_FILE or GATEWAY_API_KEYS")

// SecretReader reads a Secret Manager secret version's payload; *secrets.Client is one.
type SecretReader interface {
	Access(ctx context.Context, name string) ([]byte, error)
}

// Config says where the client keys come from (shared/config reads it). At most one source
// is set.
type Config struct {
	// List is GATEWAY_API_KEYS: raw keys, "name:key" or "key", comma-separated. For local use;
	// it is read once.
	List string
	// File is GATEWAY_KEYS_FILE: the path of a key document (see [Document]).
	File string
	// Secret is GATEWAY_KEYS_SECRET: the secret version holding the key document,
	// projects/P/secrets/S/versions/V (shared/config turns a bare projects/P/secrets/S into
	// its latest version).
	Secret string
	// Refresh is GATEWAY_KEYS_REFRESH: how often File or Secret is re-read (default
	// [DefaultRefresh]). Zero turns re-reading off.
	Refresh time.Duration
}

// UsesSecretManager reports whether the keys come from Secret Manager, so the caller knows to
// build a Secret Manager client (shared/secrets) for [Load].
func (c Config) UsesSecretManager() bool { return c.Secret != "" }

// source describes the configured source for logs and errors: the env var and the file or
// secret name, never key material.
func (c Config) source() string {
	switch {
	case c.Secret != "":
		return "GATEWAY_KEYS_SECRET " + c.Secret
	case c.File != "":
		return "GATEWAY_KEYS_FILE " + c.File
	case c.List != "":
		return "GATEWAY_API_KEYS"
	}
	return ""
}

// Load reads the client keys from the configured source and returns a store serving them. If
// the first read fails, Load returns an error whose text is one line naming the source.
//
// For a file or secret, Load then re-reads the source every cfg.Refresh in a goroutine: a key
// added to the document works, and a key removed or disabled stops, within one interval on
// every instance. A failed re-read keeps the last good set and logs a warning (the source and
// the error; never a key or hash). stop ends the goroutine and waits for it; it is safe to call
// more than once. ctx bounds the first read only; the re-reads run until stop.
func Load(ctx context.Context, cfg Config, sm SecretReader, log *slog.Logger) (*Store, func(), error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	src := cfg.source()
	switch {
	case src == "":
		return nil, nil, ErrNoSource
	case cfg.List != "":
		s, err := ParseList(cfg.List)
		if err != nil {
			return nil, nil, err
		}
		return NewStore(s), func() {}, nil
	case cfg.Secret != "" && sm == nil:
		return nil, nil, fmt.Errorf("%s: no Secret Manager client", src)
	}

	r := &reloader{cfg: cfg, sm: sm, src: src, log: log}
	set, raw, err := r.read(ctx)
	if err != nil {
		return nil, nil, &describedError{msg: fmt.Sprintf("client keys from %s: %s", src, err), err: err}
	}
	st := NewStore(set)
	r.last = raw
	log.Info("client keys loaded", "source", src, "keys", set.Len())
	if cfg.Refresh <= 0 {
		return st, func() {}, nil
	}

	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.loop(rctx, st)
	}()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			<-done
		})
	}
	return st, stop, nil
}

// reloader re-reads one key source.
type reloader struct {
	cfg    Config
	sm     SecretReader
	src    string
	log    *slog.Logger
	last   []byte // the document bytes of the set being served
	failed bool   // the previous re-read failed
}

func (r *reloader) loop(ctx context.Context, st *Store) {
	t := time.NewTicker(r.cfg.Refresh)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		r.refresh(ctx, st)
	}
}

// refresh re-reads the source once and swaps in the new set if the document changed.
func (r *reloader) refresh(parent context.Context, st *Store) {
	ctx, cancel := context.WithTimeout(parent, refreshTimeout)
	defer cancel()
	set, raw, err := r.read(ctx)
	if err != nil {
		if parent.Err() != nil {
			return // stopping
		}
		r.failed = true
		r.log.Warn("client keys refresh failed; keeping the last good set", "source", r.src, "err", err.Error())
		return
	}
	if r.failed {
		r.failed = false
		r.log.Info("client keys refresh recovered", "source", r.src)
	}
	if bytes.Equal(raw, r.last) {
		return
	}
	st.Replace(set)
	r.last = raw
	r.log.Info("client keys reloaded", "source", r.src, "keys", set.Len())
}

// read fetches and parses the document. Its errors are one line and hold no key material.
func (r *reloader) read(ctx context.Context) (*Set, []byte, error) {
	var raw []byte
	if r.cfg.Secret != "" {
		b, err := r.sm.Access(ctx, r.cfg.Secret)
		if err != nil {
			return nil, nil, err // *secrets.Client's errors are one line that says what to fix
		}
		raw = b
	} else {
		b, err := os.ReadFile(r.cfg.File)
		if err != nil {
			return nil, nil, &describedError{msg: oneLine(err.Error()), err: err}
		}
		raw = b
	}
	d, err := ParseDocument(raw)
	if err != nil {
		return nil, nil, &describedError{msg: oneLine(err.Error()), err: err}
	}
	set, err := d.Set()
	if err != nil {
		return nil, nil, err
	}
	return set, raw, nil
}

// describedError is an error with a one-line message that unwraps to its cause.
type describedError struct {
	msg string
	err error
}

func (e *describedError) Error() string { return e.msg }
func (e *describedError) Unwrap() error { return e.err }

// oneLine folds white space runs, newlines included, into single spaces.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
