// Command local serves the gateway on http://127.0.0.1:$PORT (default 8080): it is what
// `make run` builds and runs. With nothing configured it serves the offline Gemini emulator
// and a key generated for the run.
//
// The gateway is built before the server listens, so a bad setting stops the command at once
// with one line, and the first lines printed say which backend serves, where, and with which
// key. SIGINT (Ctrl-C) and SIGTERM shut the server down gracefully: it stops accepting,
// lets requests in flight finish for up to shutdownGrace, then exits.
//
// It is a plain net/http server, not functions-framework's (whose server cannot be given
// timeouts or be shut down): adapters/gcf's tests run the Cloud Functions glue inside the
// framework instead. The timeouts bound slow clients without cutting long streams: there is no
// write timeout, and the read timeout covers the request (headers and body) only, since
// net/http clears the read deadline once the handler has read the body.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/geminigateway/gateway/shared/app"
	"github.com/geminigateway/gateway/shared/config"
)

const (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 2 * time.Minute // a 32 MiB body over a slow link
	idleTimeout       = 2 * time.Minute
	shutdownGrace     = 10 * time.Second
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Getenv, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "gateway: %v\n", err)
		os.Exit(1)
	}
}

// run serves until ctx ends, then shuts down. out gets the startup lines.
func run(ctx context.Context, getenv func(string) string, out io.Writer) error {
	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}
	cfg.Local = true
	a, err := app.New(ctx, cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", cfg.Port))
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "gateway: backend: %s\n", cfg.Describe())
	fmt.Fprintf(out, "gateway: listening on http://%s (OpenAI base URL http://%[1]s/v1)\n", ln.Addr())
	if a.LocalKey != "" {
		fmt.Fprintf(out, "gateway: no client keys configured; API key for this run: %s\n", a.LocalKey)
	}
	fmt.Fprintf(out, "gateway: press Ctrl-C to stop\n")

	srv := &http.Server{Handler: a.Handler, ReadHeaderTimeout: readHeaderTimeout, ReadTimeout: readTimeout, IdleTimeout: idleTimeout}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	fmt.Fprintf(out, "gateway: shutting down\n")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close() // streams still open after the grace period are cut
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
