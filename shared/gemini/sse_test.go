package gemini

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// TestEventReader pins framing: LF and CRLF, comments, multi-line data, a bare JSON error line,
// a final event without its blank line, and long lines past the buffer.
func TestEventReader(t *testing.T) {
	long := strings.Repeat("x", 100<<10)
	in := ": hi\r\ndata: {\"a\":1}\r\n\r\nevent: m\ndata: l1\ndata: l2\n\n{\"error\":{\"code\":499}}\ndata: " + long + "\n\ndata: last"
	er := NewEventReader(strings.NewReader(in))
	want := []struct {
		data string
		oob  bool
	}{{`{"a":1}`, false}, {"l1\nl2", false}, {`{"error":{"code":499}}`, true}, {long, false}, {"last", false}}
	for i, w := range want {
		d, oob, err := er.Next()
		if err != nil || string(d) != w.data || oob != w.oob {
			t.Fatalf("event %d = %.40q oob=%v err=%v", i, d, oob, err)
		}
	}
	if _, _, err := er.Next(); !errors.Is(err, io.EOF) {
		t.Fatalf("end: %v", err)
	}
}

// A released reader refuses further reads, and a reader taken from the pool after a release
// (carrying the last user's buffers, a long event included) reads a new input as a fresh one.
func TestEventReaderRelease(t *testing.T) {
	long := strings.Repeat("y", 9<<10)
	for round := range 3 {
		er := NewEventReader(strings.NewReader("data: " + long + "\n\ndata: {\"b\":2}\n\n: tail"))
		if round == 1 {
			er = NewEventReader(strings.NewReader("data: {\"b\":2}\n\n"))
		} else if d, _, err := er.Next(); err != nil || string(d) != long {
			t.Fatalf("round %d: long event %d bytes, %v", round, len(d), err)
		}
		if d, _, err := er.Next(); err != nil || string(d) != `{"b":2}` {
			t.Fatalf("round %d: event %q, %v", round, d, err)
		}
		if _, _, err := er.Next(); !errors.Is(err, io.EOF) {
			t.Fatalf("round %d: end: %v", round, err)
		}
		er.Release()
		er.Release() // twice is harmless
		if _, _, err := er.Next(); err == nil || errors.Is(err, io.EOF) {
			t.Fatalf("round %d: Next after Release: %v", round, err)
		}
		if er.Ready() {
			t.Fatalf("round %d: Ready after Release", round)
		}
	}
}

// FuzzEventReader: the reader never panics and always ends.
func FuzzEventReader(f *testing.F) {
	for _, s := range []string{"data: {}\n\n", "data: a\r\ndata: b\r\n\r\n", ": c\n\n{\"x\":1}\n", "data:", "\n\n\n", "data: x"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		er := NewEventReader(bytes.NewReader(b))
		for i := 0; ; i++ {
			if i > len(b)+1 {
				t.Fatal("reader does not end")
			}
			if _, _, err := er.Next(); err != nil {
				return
			}
		}
	})
}

// TestParseError pins google.rpc decoding: RetryInfo, QuotaFailure per-day, array wrapping.
func TestParseError(t *testing.T) {
	e := ParseError(429, nil, []byte(`{"error":{"code":429,"message":"q","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[{"quotaId":"GenerateRequestsPerDayPerProjectPerModel"}]},{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"38s"}]}}`))
	if e.RetryDelay.Seconds() != 38 || !e.PerDay() || e.Retryable() {
		t.Errorf("per-day: %+v", e)
	}
	e = ParseError(429, nil, []byte(`[{"error":{"code":429,"message":"Resource exhausted.","status":"RESOURCE_EXHAUSTED"}}]`))
	if e.Status != "RESOURCE_EXHAUSTED" || e.Message != "Resource exhausted." || !e.Retryable() {
		t.Errorf("array: %+v", e)
	}
	e = ParseError(502, nil, []byte(`<html>bad gateway</html>`))
	if e.Status != "INTERNAL" || !e.Retryable() {
		t.Errorf("html: %+v", e)
	}
}

// TestEventReaderSplitReads pins that framing does not depend on how the input arrives: the
// same events come out when every Read returns one byte (a CRLF, a "data:" prefix and a JSON
// value all cut across reads) or half of what was asked.
func TestEventReaderSplitReads(t *testing.T) {
	in := ": ping\r\n\r\ndata: {\"a\":1}\r\n\r\nevent: m\r\nid: 7\r\ndata: l1\r\ndata: l2\r\n\r\n" +
		"data:no-space\n\n{\"error\":{\"code\":503}}\ndata: tail"
	want := []string{`{"a":1}`, "l1\nl2", "no-space", `oob {"error":{"code":503}}`, "tail"}
	for name, wrap := range map[string]func(io.Reader) io.Reader{
		"one byte": iotest.OneByteReader,
		"half":     iotest.HalfReader,
	} {
		t.Run(name, func(t *testing.T) {
			er := NewEventReader(wrap(strings.NewReader(in)))
			var got []string
			for {
				d, oob, err := er.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if oob {
					d = append([]byte("oob "), d...)
				}
				got = append(got, string(d))
			}
			if strings.Join(got, "|") != strings.Join(want, "|") {
				t.Errorf("events = %q\nwant     %q", got, want)
			}
		})
	}
}
