package gateway

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strings"
)

// traceID returns the trace id of the request's log line, its X-Request-Id and its error body's
// trace_id, so that all three join the caller's trace: from X-Cloud-Trace-Context (what Google
// Cloud's front end sets), else from a W3C traceparent, else a new random id. Either way it is
// 32 lowercase hex digits, the form both Cloud Trace and W3C Trace Context use.
func traceID(r *http.Request) string {
	if id, ok := cloudTraceID(r.Header.Get("X-Cloud-Trace-Context")); ok {
		return id
	}
	if id, ok := traceparentID(r.Header.Get("Traceparent")); ok {
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

func newTraceID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
