package gateway

import (
	"bytes"
	"testing"
)

// FuzzParseInputLine pins that a batch input line of any bytes is accepted or refused with a
// message, never a panic, and that an accepted line has a custom_id and a JSON object body.
func FuzzParseInputLine(f *testing.F) {
	for _, s := range []string{
		`{"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":{"model":"m","messages":[]}}`,
		`{"custom_id":1}`, `{"custom_id":"", "method":"POST"}`, `[]`, `{`, ``, `{"custom_id":"a","body":"x"}`,
		`{"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":  {}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		in, id, msg := parseInputLine(raw, "/v1/chat/completions", map[string]bool{"dup": true})
		if msg == "" {
			if in == nil || id == nil || *id == "" || *id == "dup" || !bytes.HasPrefix(bytes.TrimSpace(in.Body), []byte("{")) {
				t.Fatalf("accepted %q as %+v %v", raw, in, id)
			}
		} else if in != nil {
			t.Fatalf("refused %q (%s) but returned a line", raw, msg)
		}
	})
}

// FuzzLineReader pins that lines of any bytes and any length limit come back whole or as too
// long, never lost and never over the limit.
func FuzzLineReader(f *testing.F) {
	f.Add([]byte("a\nbb\n\nccc"), 2)
	f.Add([]byte("\r\n\n"), 1)
	f.Fuzz(func(t *testing.T, data []byte, max int) {
		if max < 1 || max > 1<<16 {
			return
		}
		lr := newLineReader(bytes.NewReader(data), max)
		n := 0
		for {
			line, tooLong, err := lr.next()
			if err != nil {
				break
			}
			n++
			if !tooLong && len(line) > max+1 {
				t.Fatalf("line of %d bytes over the limit %d", len(line), max)
			}
			if n > len(data)+1 {
				t.Fatal("more lines than bytes")
			}
		}
		if want := bytes.Count(data, []byte("\n")); n < want {
			t.Fatalf("%d lines read, the data has %d newlines", n, want)
		}
	})
}
