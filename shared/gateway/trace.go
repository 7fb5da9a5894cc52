package gateway

import (
	"encoding/binary"
	"encoding/hex"
	"math/rand/v2"
	"net/http"
	"strings"
)

// traceID returns the trace id of the request's log line, its X-Request-Id and its error body's
// trace_id, so that all three join the caller's trace: from X-Cloud-Trace-Context (what Google
// Cloud's front end sets), else from a W3C traceparent, else a new random id. Either way it is
// 32 lowercase hex digits, the form both Cloud Trace and W3C Trace Context use.
func traceID(r *http.Request) string {
	if id, ok := cloudTraceID(headerValue(r.Header, "X-Cloud-Trace-Context")); ok {
		return id
	}
	if id, ok := traceparentID(headerValue(r.Header, "Traceparent")); ok {
		return id
	}
	return newTraceID()
}

// cloudTraceID parses X-Cloud-Trace-Context: "TRACE_ID/SPAN_ID;o=OPTIONS", where TRACE_ID is 32
// hex characters and the rest is optional.
// https://cloud.google.com/trace/docs/trace-context#legacy-http-header
func cloudTraceID(v string) (string, bool) {
	if v == "" {
		return "", false
	}
	id, _, _ := strings.Cut(v, "/")
	id, _, _ = strings.Cut(id, ";")
	id = strings.ToLower(strings.TrimSpace(id))
	if !isHex(id, 32) || allZero(id) {
		return "", false
	}
	return id, true
}

// traceparentID parses a W3C traceparent: "VERSION-TRACEID-PARENTID-FLAGS", all lowercase hex.
// Version ff is invalid; version 00 is exactly 55 characters; a later version may append
// "-..." fields, which a parser for version 00 must ignore. An all-zero trace id or parent id
// makes the header invalid, and an invalid header is ignored (a new trace is started).
// https://www.w3.org/TR/trace-context/#traceparent-header
func traceparentID(v string) (string, bool) {
	v = strings.TrimSpace(v)
	if len(v) < 55 || v[2] != '-' || v[35] != '-' || v[52] != '-' {
		return "", false
	}
	version, id, parent, flags := v[:2], v[3:35], v[36:52], v[53:55]
	if !isHex(version, 2) || version == "ff" || !isHex(id, 32) || !isHex(parent, 16) || !isHex(flags, 2) {
		return "", false
	}
	if version == "00" && len(v) != 55 || version != "00" && len(v) > 55 && v[55] != '-' {
		return "", false
	}
	if allZero(id) || allZero(parent) {
		return "", false
	}
	return id, true
}

// isHex reports whether s is n lowercase hex digits (W3C's HEXDIGLC; Cloud Trace ids are
// lowercased before the check).
func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := range len(s) {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

func allZero(s string) bool {
	return strings.Trim(s, "0") == ""
}

// newTraceID returns 32 random lowercase hex digits, never all zero (W3C's invalid trace id).
// A trace id correlates log lines and is no secret: it comes from math/rand/v2's generator
// (ChaCha8, seeded by the runtime from the OS), which costs no system call per request as
// crypto/rand's does.
func newTraceID() string {
	var raw [16]byte
	binary.BigEndian.PutUint64(raw[:8], rand.Uint64())
	binary.BigEndian.PutUint64(raw[8:], rand.Uint64())
	if raw == [16]byte{} {
		raw[15] = 1
	}
	var b [32]byte
	hex.Encode(b[:], raw[:])
	return string(b[:])
}

// headerValue is h.Get(key) for a key already in canonical form (every caller passes a
// constant), without Get's canonicalisation of the key on each call: the first value, or "".
func headerValue(h http.Header, key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}
