package gateway

import (
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestTraceparentID pins the W3C Trace Context rules for traceparent
// (https://www.w3.org/TR/trace-context/#traceparent-header): lowercase hex only, version ff and
// all-zero ids invalid, version 00 exactly 55 characters, later versions may append fields.
func TestTraceparentID(t *testing.T) {
	const id = "4bf92f3577b34da6a3ce929d0e0e4736"
	tests := []struct {
		name, header string
		want         string // "" means ignored
	}{
		{"spec example sampled", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", id},
		{"not sampled", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", id},
		{"surrounding spaces", " 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01 ", id},
		{"uppercase trace id", "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", ""},
		{"uppercase version", "0A-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", ""},
		{"version ff", "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", ""},
		{"all-zero trace id", "00-00000000000000000000000000000000-00f067aa0ba902b7-01", ""},
		{"all-zero parent id", "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", ""},
		{"version 00 with a trailing field", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra", ""},
		{"future version with a trailing field", "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-holds", id},
		{"future version, trailing data without a dash", "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x", ""},
		{"short trace id", "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01", ""},
		{"non-hex flags", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g", ""},
		{"wrong separators", "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01", ""},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := traceparentID(tt.header)
			if ok != (tt.want != "") || got != tt.want {
				t.Errorf("traceparentID(%q) = %q, %v; want %q", tt.header, got, ok, tt.want)
			}
		})
	}
}

// TestCloudTraceID pins X-Cloud-Trace-Context ("TRACE_ID/SPAN_ID;o=OPTIONS",
// https://cloud.google.com/trace/docs/trace-context#legacy-http-header): the span and options are
// optional, the id is normalised to lowercase, and an all-zero or malformed id is ignored.
func TestCloudTraceID(t *testing.T) {
	tests := []struct {
		name, header string
		want         string
	}{
		{"full", "105445aa7843bc8bf206b12000100000/1;o=1", "105445aa7843bc8bf206b12000100000"},
		{"no span", "105445aa7843bc8bf206b12000100000", "105445aa7843bc8bf206b12000100000"},
		{"options only", "105445aa7843bc8bf206b12000100000;o=0", "105445aa7843bc8bf206b12000100000"},
		{"uppercase", "105445AA7843BC8BF206B12000100000/7", "105445aa7843bc8bf206b12000100000"},
		{"all zero", "00000000000000000000000000000000/1;o=1", ""},
		{"too short", "105445aa7843bc8bf206b1200010000/1", ""},
		{"not hex", "105445aa7843bc8bf206b1200010000z/1", ""},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := cloudTraceID(tt.header)
			if ok != (tt.want != "") || got != tt.want {
				t.Errorf("cloudTraceID(%q) = %q, %v; want %q", tt.header, got, ok, tt.want)
			}
		})
	}
}

// TestNewTraceIDIsValid pins that a generated id has the form the parsers accept, so a new trace
// is indistinguishable in shape from a joined one.
func TestNewTraceIDIsValid(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := newTraceID()
		if !isHex(id, 32) || allZero(id) {
			t.Fatalf("newTraceID() = %q", id)
		}
		if seen[id] {
			t.Fatalf("newTraceID() repeated %q", id)
		}
		seen[id] = true
	}
}

// TestHeaderValueKeysAreCanonical holds every headerValue call in the package to a constant key
// in canonical form, the condition under which it is http.Header.Get.
func TestHeaderValueKeysAreCanonical(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	call := regexp.MustCompile(`headerValue\(([^,()]+), ([^)]*)\)`)
	n := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range call.FindAllStringSubmatch(string(src), -1) {
			if m[1] == "h http.Header" {
				continue // the declaration
			}
			key := m[2]
			if len(key) < 2 || key[0] != '"' || key[len(key)-1] != '"' {
				t.Errorf("%s: headerValue(%s, %s): the key must be a string constant", f, m[1], key)
				continue
			}
			if k := key[1 : len(key)-1]; http.CanonicalHeaderKey(k) != k {
				t.Errorf("%s: headerValue key %q is not canonical (%q)", f, k, http.CanonicalHeaderKey(k))
			}
			n++
		}
	}
	if n < 5 {
		t.Errorf("found %d headerValue calls, want the request path's (at least 5)", n)
	}
	h := http.Header{}
	h.Set("authorization", "Bearer x")
	if got := headerValue(h, "Authorization"); got != h.Get("Authorization") || got != "Bearer x" {
		t.Errorf("headerValue = %q, Get = %q", got, h.Get("Authorization"))
	}
	if got := headerValue(h, "Origin"); got != "" {
		t.Errorf("headerValue of a missing key = %q", got)
	}
}
