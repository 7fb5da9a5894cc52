package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/geminigateway/gateway/shared/openai"
)

// sseWriter writes server-sent events, flushing each as it is produced, and writes an SSE
// comment when the stream has been silent for keepAlive (long thinking), so proxies and clients
// do not time the connection out. The status line and headers go out with the first event or
// comment.
//
// One lock, mu, orders every write: the handler's events, the keep-alive timer's comments, and
// the funnel's final error event. The funnel ends the stream and learns whether its headers are
// out in one critical section (fail), so a keep-alive can never send a 200 status line after the
// funnel chose a JSON error body, and once headers are out an error is one last event.
type sseWriter struct {
	mu        sync.Mutex
	w         http.ResponseWriter
	rc        *http.ResponseController
	begun     bool // the status line and headers are out
	closed    bool // the stream ended: nothing more is written
	complete  bool // done wrote the final event; the handler's return sends it
	pending   bool // written since the last flush
	err       error
	keepAlive time.Duration
	timer     *time.Timer
	buf       bytes.Buffer
	enc       *json.Encoder // made on first use: most chunks are encoded by openai.AppendChunk
	// errorData formats the data of the final error event: the one error body, with the trace id.
	errorData func(*openai.Error) []byte
	// errorName, when set, is the final error event's "event:" name (the Responses API's "error").
	errorName string
}

// newSSE starts the request's event stream; nothing is written before the first event or
// keep-alive. The handler does not stop it or write errors into it: it returns its error, and
// the funnel (or, after a nil return, ServeHTTP) ends the stream.
func (h *Handler) newSSE(w http.ResponseWriter, rs *reqState) *sseWriter {
	s := &sseWriter{w: w, rc: http.NewResponseController(w), keepAlive: h.o.KeepAlive,
		errorData: func(e *openai.Error) []byte { return e.MarshalStreamError(rs.traceID) }}
	s.buf = *bytes.NewBuffer((*eventBufs.Get().(*[]byte))[:0])
	s.mu.Lock() // ping may fire before the assignment is visible otherwise
	s.timer = time.AfterFunc(s.keepAlive, s.ping)
	s.mu.Unlock()
	rs.sse = s
	return s
}

func (s *sseWriter) begin() {
	if s.begun {
		return
	}
	s.begun = true
	h := s.w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	s.w.WriteHeader(http.StatusOK)
}

// write sends p and flushes; the caller holds mu. A writer without Flush (Lambda's streaming
// writer is unbuffered) is fine.
func (s *sseWriter) write(p []byte) error {
	if err := s.put(p); err != nil {
		return err
	}
	return s.flushLocked()
}

// put writes p without flushing; the caller holds mu and flushes before the stream waits.
func (s *sseWriter) put(p []byte) error {
	if s.closed {
		return errClosed
	}
	return s.send(p)
}

// send writes p, closed or not; the caller holds mu.
func (s *sseWriter) send(p []byte) error {
	if s.err != nil {
		return s.err
	}
	s.begin()
	if _, err := s.w.Write(p); err != nil {
		s.err = err
		return err
	}
	s.pending = true
	s.timer.Reset(s.keepAlive)
	return nil
}

func (s *sseWriter) flushLocked() error {
	if !s.pending || s.err != nil {
		return s.err
	}
	s.pending = false
	if err := s.rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		s.err = err
		return err
	}
	return nil
}

// flush sends what chunk has written.
func (s *sseWriter) flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.flushLocked()
}

var errClosed = errors.New("sse: stream closed")

func (s *sseWriter) ping() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	_ = s.write([]byte(": keep-alive\n\n"))
}

// chunk writes one data event holding c (encoded by openai.AppendChunk, byte-identical to
// encoding/json, or by encoding/json for the shapes it leaves), without flushing: the caller flushes once the
// upstream has no further event ready, so events that arrived together leave in one write.
func (s *sseWriter) chunk(c *openai.Chunk) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf.Reset()
	s.buf.WriteString("data: ")
	if b, ok := openai.AppendChunk(s.buf.AvailableBuffer(), c); ok {
		s.buf.Write(b)
		s.buf.WriteString("\n\n")
		return s.put(s.buf.Bytes())
	}
	// The rare chunk AppendChunk leaves to encoding/json (tool calls, media, …).
	if err := s.encoder().Encode(c); err != nil { // Encode ends with "\n"
		return err
	}
	s.buf.WriteByte('\n')
	return s.put(s.buf.Bytes())
}

// encoder returns the stream's JSON encoder into buf, made on first use; the caller holds mu.
func (s *sseWriter) encoder() *json.Encoder {
	if s.enc == nil {
		s.enc = json.NewEncoder(&s.buf)
		s.enc.SetEscapeHTML(false)
	}
	return s.enc
}

// done writes the [DONE] event and ends the stream. It does not flush: the handler returns
// right after it, and net/http then sends what is buffered together with the end of the chunked
// body in one write, where a flush here would cost the client a second wake-up for the end of
// the body (see Handler.finish, which leaves a complete stream's flush to the return).
func (s *sseWriter) done() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.put([]byte("data: [DONE]\n\n"))
	s.complete = err == nil
	s.closeLocked()
	return err
}

// end ends a stream whose last event is written (the Responses API's, which has no [DONE])
// as done does: without a flush, so the last events leave with the end of the body.
func (s *sseWriter) end() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.complete = s.begun && s.err == nil && !s.closed
	s.closeLocked()
}

// completed reports whether done (or end) wrote the stream's final event; false for a nil writer.
func (s *sseWriter) completed() bool {
	if s == nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.complete
}

// fail ends the stream for the funnel and reports whether its headers were out. If they were,
// e becomes the stream's last event (unless the stream had ended or the client is gone); if
// not, the stream will never write, and the funnel answers with a JSON error body instead.
func (s *sseWriter) fail(e *openai.Error) (begun bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ended := s.closed
	s.closeLocked()
	if !s.begun {
		return false
	}
	if !ended && e.Status != statusClientClosed {
		s.buf.Reset()
		if s.errorName != "" {
			s.buf.WriteString("event: " + s.errorName + "\n")
		}
		s.buf.WriteString("data: ")
		s.buf.Write(s.errorData(e))
		s.buf.WriteString("\n\n")
		if s.send(s.buf.Bytes()) == nil {
			_ = s.flushLocked()
		}
	}
	return true
}

// close ends the stream: no keep-alive or event is written after it, and its event buffer goes
// back to the pool.
func (s *sseWriter) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closeLocked()
	if b := s.buf.Bytes(); cap(b) <= 64<<10 {
		b = b[:0]
		eventBufs.Put(&b)
	}
	s.buf = bytes.Buffer{}
	s.enc = nil // it wrote into buf
}

// eventBufs holds the event buffers of ended streams, so a stream's first events do not grow a
// new one.
var eventBufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

func (s *sseWriter) closeLocked() {
	s.closed = true
	s.timer.Stop()
}
