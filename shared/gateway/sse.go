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
// do not time the connection out. Headers go out with the first event or comment.
type sseWriter struct {
	mu        sync.Mutex
	w         http.ResponseWriter
	rc        *http.ResponseController
	begun     bool
	closed    bool
	pending   bool // written since the last flush
	err       error
	keepAlive time.Duration
	timer     *time.Timer
	buf       bytes.Buffer
	enc       *json.Encoder
}

func newSSEWriter(w http.ResponseWriter, keepAlive time.Duration) *sseWriter {
	s := &sseWriter{w: w, rc: http.NewResponseController(w), keepAlive: keepAlive}
	s.enc = json.NewEncoder(&s.buf)
	s.enc.SetEscapeHTML(false)
	s.mu.Lock() // ping may fire before the assignment is visible otherwise
	s.timer = time.AfterFunc(keepAlive, s.ping)
	s.mu.Unlock()
	return s
}

func (s *sseWriter) started() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.begun
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
	if s.err != nil {
		return s.err
	}
	if s.closed {
		return errClosed
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

// chunk writes one data event holding c, without flushing: the caller flushes once the
// upstream has no further event ready, so events that arrived together leave in one write.
func (s *sseWriter) chunk(c *openai.Chunk) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf.Reset()
	s.buf.WriteString("data: ")
	if err := s.enc.Encode(c); err != nil { // Encode ends with "\n"
		return err
	}
	s.buf.WriteByte('\n')
	return s.put(s.buf.Bytes())
}

func (s *sseWriter) done() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.write([]byte("data: [DONE]\n\n"))
}

// errorEvent writes the final error event of a failed stream.
func (s *sseWriter) errorEvent(e *openai.Error, traceID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf.Reset()
	s.buf.WriteString("data: ")
	s.buf.Write(e.MarshalStreamError(traceID))
	s.buf.WriteString("\n\n")
	return s.write(s.buf.Bytes())
}

// stop ends keep-alives; nothing is written after it.
func (s *sseWriter) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.timer.Stop()
}
