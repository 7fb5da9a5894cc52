// Package trickle is a test upstream whose answer arrives a few bytes at a time, as a large
// answer comes through a network, for the tests of code that works on an answer while it
// arrives (gemini.Client.EmbedWatched, translate's early vector conversion).
package trickle

import (
	"io"
	"net/http"
)

// Transport answers every request with Status (200 when 0) and Body, at most N bytes per Read,
// declaring the body's length when Length is set (an answer the transport gzip-decodes has
// none). It drains and closes the request body first, as a server does.
type Transport struct {
	Status int
	Body   []byte
	N      int
	Length bool
}

// RoundTrip implements http.RoundTripper.
func (t Transport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		_ = r.Body.Close()
	}
	status := t.Status
	if status == 0 {
		status = http.StatusOK
	}
	resp := &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(&Reader{B: t.Body, N: t.N}), ContentLength: -1, Request: r}
	if t.Length {
		resp.ContentLength = int64(len(t.Body))
	}
	return resp, nil
}

// Reader hands out B at most N bytes (at least one) per Read.
type Reader struct {
	B []byte
	N int
}

func (p *Reader) Read(dst []byte) (int, error) {
	if len(p.B) == 0 {
		return 0, io.EOF
	}
	k := copy(dst[:min(len(dst), max(p.N, 1))], p.B)
	p.B = p.B[k:]
	return k, nil
}
