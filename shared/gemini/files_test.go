package gemini

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// uploadSession is the upload side of the Files API for one session: it keeps what it
// received, answers chunks with answer (nil: accept), and query with the size received, or
// "final" with the File once finalized.
type uploadSession struct {
	mu       sync.Mutex
	received []byte
	final    bool
	commands []string
	answer   func(n int, w http.ResponseWriter) bool // n counts chunks from 1
	drop     bool                                    // a chunk answer handled is not kept
	chunks   int
}

func (s *uploadSession) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.URL.Query().Get("upload_id") == "" {
		w.Header().Set("X-Goog-Upload-URL", "http://"+r.Host+"/upload/v1beta/files?upload_id=s")
		w.Header().Set("X-Goog-Upload-Chunk-Granularity", "4")
		return
	}
	cmd := r.Header.Get("X-Goog-Upload-Command")
	s.commands = append(s.commands, cmd+"@"+r.Header.Get("X-Goog-Upload-Offset"))
	if cmd == "query" {
		if s.final {
			w.Header().Set("X-Goog-Upload-Status", "final")
			_, _ = io.WriteString(w, `{"file":{"name":"files/abc"}}`)
			return
		}
		w.Header().Set("X-Goog-Upload-Status", "active")
		w.Header().Set("X-Goog-Upload-Size-Received", strconv.Itoa(len(s.received)))
		return
	}
	s.chunks++
	b, _ := io.ReadAll(r.Body)
	handled := s.answer != nil && s.answer(s.chunks, w)
	if !handled || !s.drop {
		s.received = append(s.received, b...)
		s.final = s.final || cmd == "upload, finalize"
	}
	if handled {
		return
	}
	if s.final {
		w.Header().Set("X-Goog-Upload-Status", "final")
		_, _ = io.WriteString(w, `{"file":{"name":"files/abc"}}`)
	}
}

func uploadOf(t *testing.T, s *uploadSession, body string) (string, error) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(srv.Close)
	c, err := New(Options{Backend: Developer, BaseURL: srv.URL, APIKey: "k", Retry: RetryPolicy{MaxAttempts: 2, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	return c.UploadFile(t.Context(), Upload{DisplayName: "x", MimeType: "application/jsonl", Size: int64(len(body)), ChunkSize: 3,
		Open: func(_ context.Context, off int64) (io.ReadCloser, error) {
			return io.NopCloser(strings.NewReader(body[off:])), nil
		}})
}

// TestUploadChunkRefused pins that a chunk refused with a 4xx is not resumed: the upload fails
// with Google's error.
func TestUploadChunkRefused(t *testing.T) {
	s := &uploadSession{answer: func(n int, w http.ResponseWriter) bool {
		if n == 2 {
			w.WriteHeader(400)
			_, _ = io.WriteString(w, `{"error":{"code":400,"message":"Bad offset.","status":"INVALID_ARGUMENT"}}`)
			return true
		}
		return false
	}}
	_, err := uploadOf(t, s, "0123456789abcdef!")
	var ae *APIError
	if !errors.As(err, &ae) || ae.HTTPStatus != 400 {
		t.Fatalf("UploadFile: %v, want the 400", err)
	}
	if strings.Join(s.commands, " ") != "upload@0 upload@4" {
		t.Errorf("commands %v", s.commands)
	}
}

// TestUploadFinalizeAnswerLost pins that when the finalizing chunk's answer is lost after the
// session finalized, the query's "final" answer gives the file; and that a session failing
// every chunk is given up after a few tries.
func TestUploadFinalizeAnswerLost(t *testing.T) {
	s := &uploadSession{answer: func(n int, w http.ResponseWriter) bool {
		if n == 5 { // 4 chunks of 4 bytes, then the last one byte with finalize
			w.WriteHeader(503)
			return true
		}
		return false
	}}
	name, err := uploadOf(t, s, "0123456789abcdef!")
	if err != nil || name != "files/abc" {
		t.Fatalf("UploadFile = %q, %v", name, err)
	}
	if got := strings.Join(s.commands, " "); got != "upload@0 upload@4 upload@8 upload@12 upload, finalize@16 query@" {
		t.Errorf("commands %s", got)
	}
	if string(s.received) != "0123456789abcdef!" {
		t.Errorf("received %q", s.received)
	}

	down := &uploadSession{drop: true, answer: func(_ int, w http.ResponseWriter) bool { w.WriteHeader(503); return true }}
	if _, err := uploadOf(t, down, "0123456789"); err == nil {
		t.Fatal("an upload whose every chunk fails succeeded")
	}
	if down.chunks != uploadAttempts {
		t.Errorf("%d chunk tries, want %d", down.chunks, uploadAttempts)
	}
}
