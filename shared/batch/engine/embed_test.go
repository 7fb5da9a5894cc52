package engine

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/geminigateway/gateway/shared/gemini"
)

// TestExplodeAndAssemble pins the round trip of an embeddings job through an engine that
// answers per input and out of order: every input of every call becomes one keyed request, and
// the answers go back to one answer per line, calls and inputs in order; the first failing
// input in call order is the line's error; a line with an input never answered is left out.
func TestExplodeAndAssemble(t *testing.T) {
	input := `{"key":"1","request":[{"requests":["a","b"]},{"requests":["c"]}]}
{"key":"odd#key/1.2","request":[{"requests":["d"]}]}
{"key":"3","request":[{"requests":["x","y"]},{"requests":["z"]}]}
{"key":"4","request":[{"requests":["lost","kept"]}]}
`
	var out bytes.Buffer
	n := 0
	split := func(call json.RawMessage) ([]json.RawMessage, error) {
		var b struct{ Requests []json.RawMessage }
		err := json.Unmarshal(call, &b)
		return b.Requests, err
	}
	if err := ExplodeEmbed(strings.NewReader(input), &out, split, nil, &n); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if n != 9 || len(lines) != 9 {
		t.Fatalf("%d lines (n=%d):\n%s", len(lines), n, out.String())
	}
	a := NewAssembler(false)
	errY := RPCError(3, "", "bad y")
	errZ := RPCError(8, "", "z too big")
	for i := len(lines) - 1; i >= 0; i-- { // reverse order
		var l InputLine
		if err := json.Unmarshal([]byte(lines[i]), &l); err != nil {
			t.Fatal(err)
		}
		var text string
		_ = json.Unmarshal(l.Request, &text)
		var err *gemini.APIError
		switch text {
		case "y":
			err = errY
		case "z":
			err = errZ
		case "lost":
			continue
		}
		if aerr := a.Add(l.Key, json.RawMessage(`{"values":["`+text+`"]}`), err); aerr != nil {
			t.Fatal(aerr)
		}
	}
	got := map[string]Result{}
	if err := a.Flush(func(r Result) error { got[r.Key] = r; return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Errorf("answers for %d lines, want 3 (line 4 has an input unanswered): %v", len(got), got)
	}
	if s := string(got["1"].Response); s != `[{"embeddings":[{"values":["a"]},{"values":["b"]}]},{"embeddings":[{"values":["c"]}]}]` {
		t.Errorf("line 1 = %s", s)
	}
	if s := string(got["odd#key/1.2"].Response); s != `[{"embeddings":[{"values":["d"]}]}]` {
		t.Errorf("line odd#key/1.2 = %s", s)
	}
	if e := got["3"].Error; e != errY || e.HTTPStatus != http.StatusBadRequest || got["3"].Response != nil {
		t.Errorf("line 3 = %+v, want the first failure in call order (y)", got["3"])
	}
	if err := a.Add("no part key", nil, nil); err == nil {
		t.Error("a key that is not a part key was accepted")
	}
	if err := a.Add(PartKey("1", 0, 0, 3, 2), json.RawMessage(`{}`), nil); err == nil {
		t.Error("a key disagreeing with its line's shape was accepted")
	}
	v := NewAssembler(true)
	_ = v.Add(PartKey("k", 0, 0, 1, 1), json.RawMessage(`{"embeddings":{"values":[1]}}`), nil)
	_ = v.Flush(func(r Result) error {
		if string(r.Response) != `[{"predictions":[{"embeddings":{"values":[1]}}]}]` {
			t.Errorf("vertex answer %s", r.Response)
		}
		return nil
	})
}

func FuzzParsePartKey(f *testing.F) {
	f.Add(PartKey("line", 2, 3, 4, 5))
	f.Add("x#1.0/1.2")
	f.Add("#/.")
	f.Fuzz(func(t *testing.T, k string) {
		p, ok := parsePartKey(k)
		if ok && (p.c >= p.calls || p.i >= p.n || p.c < 0 || p.i < 0) {
			t.Fatalf("%q parsed to %+v", k, p)
		}
		if ok {
			if again, ok2 := parsePartKey(PartKey(p.line, p.c, p.i, p.n, p.calls)); !ok2 || again != p {
				t.Fatalf("%q: %+v does not round trip (%+v)", k, p, again)
			}
		}
	})
}
