package gateway

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/geminigateway/gateway/shared/gemini"
	"github.com/geminigateway/gateway/shared/translate"
)

// failingStream is an in-process upstream answering 200 with an event that is not JSON, so the
// stream fails at its first event, after the gateway has set up its SSE writer.
type failingStream struct{}

func (failingStream) RoundTrip(r *http.Request) (*http.Response, error) {
	_, _ = io.Copy(io.Discard, r.Body)
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"text/event-stream"}},
		Body: io.NopCloser(strings.NewReader("data: not json\n\n")), ContentLength: -1, Request: r}, nil
}

// TestKeepAliveInTheFailureWindow drives a keep-alive into the window between a stream failing
// and the funnel answering (the window where the old streamError sent 200 SSE headers and then
// a JSON error body). A keep-alive there makes the answer an SSE stream whose last event is the
// error; without one it is the JSON error with its real status. Either way the client gets one
// well-formed answer, and nothing follows the funnel's decision.
func TestKeepAliveInTheFailureWindow(t *testing.T) {
	for _, ping := range []bool{true, false} {
		name := map[bool]string{true: "keep-alive in the window", false: "no keep-alive"}[ping]
		t.Run(name, func(t *testing.T) {
			client, err := gemini.New(gemini.Options{Backend: gemini.Developer, BaseURL: "http://upstream.invalid", APIKey: "k",
				HTTPClient: &http.Client{Transport: failingStream{}}, Timeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			models, _ := translate.NewModels("")
			// A keep-alive interval no test outlives: the only keep-alive is the hook's.
			h := New(Options{Client: client, Models: models, KeepAlive: time.Hour})
			var hooked *sseWriter
			h.beforeStreamError = func(s *sseWriter) {
				hooked = s
				if ping {
					s.ping() // what the keep-alive timer runs, at the worst moment
				}
			}
			srv := httptest.NewServer(h)
			defer srv.Close()
			resp, err := http.Post(srv.URL+"/v1/chat/completions", "application/json",
				strings.NewReader(`{"model":"gemini-2.5-flash","stream":true,"messages":[{"role":"user","content":"x"}]}`))
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			body := string(b)
			if hooked == nil {
				t.Fatal("the stream failed before its SSE writer existed: the window was not reached")
			}
			ct := resp.Header.Get("Content-Type")
			if ping {
				// The error event is the one error body, with the request's trace id (fidelity).
				want := ": keep-alive\n\n" + `data: {"success":false,"error":{"message":"the request to Gemini failed","type":"api_error","code":"upstream_error","param":null},"trace_id":"` + resp.Header.Get("X-Request-Id") + `"}` + "\n\n"
				if resp.StatusCode != 200 || !strings.HasPrefix(ct, "text/event-stream") || body != want {
					t.Errorf("got %d %q:\n%q\nwant 200 SSE:\n%q", resp.StatusCode, ct, body, want)
				}
			} else {
				var eb struct {
					Error struct{ Code string } `json:"error"`
				}
				if resp.StatusCode != 502 || !strings.HasPrefix(ct, "application/json") || json.Unmarshal(b, &eb) != nil || eb.Error.Code != "upstream_error" {
					t.Errorf("got %d %q: %q, want a 502 JSON upstream_error body", resp.StatusCode, ct, body)
				}
			}
			// The funnel's decision closed the stream: a keep-alive firing now writes nothing.
			hooked.ping()
			if hooked.pending || !hooked.closed {
				t.Errorf("the stream wrote after the funnel answered (closed %v)", hooked.closed)
			}
		})
	}
}

// errWriter is a ResponseWriter whose writes fail, as when the client has gone.
type errWriter struct{ http.ResponseWriter }

func (errWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

// TestResponseWriterRecordsAndUnwraps pins the wrapper the funnel and the log read: the status
// (first one wins, 1xx ignored), the body bytes, a failed write as "the client went away", and
// that http.ResponseController reaches the wrapped writer through it, so flushing streams and
// deadlines still work on a real connection.
func TestResponseWriterRecordsAndUnwraps(t *testing.T) {
	t.Run("status and bytes", func(t *testing.T) {
		rec := httptest.NewRecorder()
		w := &responseWriter{ResponseWriter: rec}
		if w.started() {
			t.Fatal("started before anything was written")
		}
		w.WriteHeader(http.StatusTeapot)
		w.WriteHeader(http.StatusInternalServerError) // superfluous: the first status went out
		_, _ = w.Write([]byte("abc"))
		_, _ = w.Write([]byte("de"))
		if !w.started() || w.status != http.StatusTeapot || w.bytes != 5 || w.gone {
			t.Errorf("status %d bytes %d gone %v", w.status, w.bytes, w.gone)
		}
		if err := http.NewResponseController(w).Flush(); err != nil || !rec.Flushed {
			t.Errorf("flush through the controller: %v (recorder flushed %v)", err, rec.Flushed)
		}
	})
	t.Run("write without a status line is 200", func(t *testing.T) {
		w := &responseWriter{ResponseWriter: httptest.NewRecorder()}
		_, _ = w.Write([]byte("x"))
		if w.status != http.StatusOK {
			t.Errorf("status %d", w.status)
		}
	})
	t.Run("flush without a status line is 200", func(t *testing.T) {
		w := &responseWriter{ResponseWriter: httptest.NewRecorder()}
		if err := w.FlushError(); err != nil || w.status != http.StatusOK {
			t.Errorf("flush: %v, status %d", err, w.status)
		}
	})
	t.Run("failed write", func(t *testing.T) {
		w := &responseWriter{ResponseWriter: errWriter{httptest.NewRecorder()}}
		_, err := w.Write([]byte("x"))
		if !errors.Is(err, errClientGone) || !w.gone {
			t.Errorf("err %v, gone %v", err, w.gone)
		}
		if e := toOpenAI(err); e.Status != statusClientClosed {
			t.Errorf("a failed write maps to %d, want 499", e.Status)
		}
	})
	t.Run("writer without flush", func(t *testing.T) {
		w := &responseWriter{ResponseWriter: struct{ http.ResponseWriter }{httptest.NewRecorder()}}
		if err := w.FlushError(); !errors.Is(err, http.ErrNotSupported) || w.started() || w.gone {
			t.Errorf("flush: %v, started %v, gone %v", err, w.started(), w.gone)
		}
	})
	t.Run("real connection", func(t *testing.T) {
		read := make(chan struct{})
		var deadlineErr error
		srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			w := &responseWriter{ResponseWriter: rw}
			rc := http.NewResponseController(w)
			deadlineErr = rc.SetWriteDeadline(time.Now().Add(time.Minute))
			w.WriteHeader(http.StatusEarlyHints) // informational: not the status
			if w.started() {
				t.Error("a 103 counted as the status")
			}
			_, _ = io.WriteString(w, "first\n")
			if err := rc.Flush(); err != nil {
				t.Errorf("flush: %v", err)
			}
			<-read // the client has "first" while the handler is still running
			_, _ = io.WriteString(w, "second\n")
		}))
		defer srv.Close()
		resp, err := http.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		br := bufio.NewReader(resp.Body)
		if line, err := br.ReadString('\n'); err != nil || line != "first\n" {
			t.Fatalf("first line %q, %v", line, err)
		}
		close(read)
		if resp.StatusCode != 200 {
			t.Errorf("status %d", resp.StatusCode)
		}
		if rest, _ := io.ReadAll(br); string(rest) != "second\n" {
			t.Errorf("rest %q", rest)
		}
		if deadlineErr != nil {
			t.Errorf("SetWriteDeadline through Unwrap: %v", deadlineErr)
		}
	})
}
