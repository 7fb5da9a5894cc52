package engine

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/geminigateway/gateway/shared/gemini"
)

// An embeddings job's line holds the bodies of the embedding calls POST /v1/embeddings would
// make, and its answer is the array of those calls' answers. The cloud engines take one input
// per batch request (Batch Mode's EmbedContentRequest, a Vertex AI instance), so they explode
// each line into one request per input, each keyed by a part key that says where the input
// sits in its line, and reassemble the answers with an Assembler.

// PartKey is the key of input i of call c of line, where call c has n inputs and the line has
// calls calls: "<line>#<c>.<i>/<n>.<calls>". The line's shape travels in the key, so answers,
// which come in any order, are put back together without reading the input again.
func PartKey(line string, c, i, n, calls int) string {
	return line + "#" + strconv.Itoa(c) + "." + strconv.Itoa(i) + "/" + strconv.Itoa(n) + "." + strconv.Itoa(calls)
}

// part is a parsed part key.
type part struct {
	line           string
	c, i, n, calls int
}

func parsePartKey(k string) (part, bool) {
	h := strings.LastIndexByte(k, '#')
	if h < 0 {
		return part{}, false
	}
	pos, shape, ok := strings.Cut(k[h+1:], "/")
	if !ok {
		return part{}, false
	}
	c, i, ok1 := pair(pos)
	n, calls, ok2 := pair(shape)
	if !ok1 || !ok2 || n == 0 || calls == 0 || c >= calls || i >= n {
		return part{}, false
	}
	return part{line: k[:h], c: c, i: i, n: n, calls: calls}, true
}

func pair(s string) (int, int, bool) {
	a, b, ok := strings.Cut(s, ".")
	x, err1 := strconv.Atoi(a)
	y, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || x < 0 || y < 0 || x > 1<<20 || y > 1<<20 {
		return 0, 0, false
	}
	return x, y, true
}

// Assembler puts the per-input answers of an embeddings job back into one answer per line.
// It holds the answers until Flush (engines answer in any order).
type Assembler struct {
	vertex bool
	lines  map[string]*embedLine
}

type embedLine struct {
	calls  [][]json.RawMessage // by call, by input; nil until answered
	got    int
	want   []int // inputs per call, as the keys tell; 0 until a key of the call is seen
	err    *gemini.APIError
	errPos [2]int
}

// NewAssembler returns an Assembler for answers of Vertex AI (vertex: each answer a
// prediction, a line's call answers {"predictions": [...]}) or of Batch Mode (each answer a
// ContentEmbedding, a call's answer {"embeddings": [...]}).
func NewAssembler(vertex bool) *Assembler {
	return &Assembler{vertex: vertex, lines: map[string]*embedLine{}}
}

// Add records the answer to the input keyed key: its embedding (a ContentEmbedding or a
// prediction), or the error the engine gave for it. A key that is not a part key is an error.
func (a *Assembler) Add(key string, value json.RawMessage, err *gemini.APIError) error {
	p, ok := parsePartKey(key)
	if !ok {
		return &gemini.MalformedError{Err: fmt.Errorf("answer key %q is not one of ours", key)}
	}
	l := a.lines[p.line]
	if l == nil {
		l = &embedLine{calls: make([][]json.RawMessage, p.calls), want: make([]int, p.calls)}
		a.lines[p.line] = l
	}
	if len(l.calls) != p.calls || (l.want[p.c] != 0 && l.want[p.c] != p.n) {
		return &gemini.MalformedError{Err: fmt.Errorf("answer key %q disagrees with another of its line", key)}
	}
	if l.calls[p.c] == nil {
		l.calls[p.c], l.want[p.c] = make([]json.RawMessage, p.n), p.n
	}
	if err != nil {
		// The first failure in call order is the line's error, as online.
		if pos := [2]int{p.c, p.i}; l.err == nil || slices.Compare(pos[:], l.errPos[:]) < 0 {
			l.err, l.errPos = err, pos
		}
		return nil
	}
	if len(value) == 0 || string(value) == "null" {
		return &gemini.MalformedError{Err: fmt.Errorf("answer %q has no embedding", key)}
	}
	if l.calls[p.c][p.i] == nil {
		l.got++
	}
	l.calls[p.c][p.i] = value
	return nil
}

// Flush calls fn with the answer of every line: its error when an input failed, else the
// array of its calls' answers in call order. A line some of whose inputs were not answered is
// left out (the gateway reports it unanswered).
func (a *Assembler) Flush(fn func(Result) error) error {
	field := []byte(`{"embeddings":[`)
	if a.vertex {
		field = []byte(`{"predictions":[`)
	}
	for key, l := range a.lines {
		if l.err != nil {
			if err := fn(Result{Key: key, Error: l.err}); err != nil {
				return err
			}
			continue
		}
		want := 0
		for _, n := range l.want {
			if n == 0 {
				want = -1 // a call with no answer at all
				break
			}
			want += n
		}
		if want < 0 || l.got != want {
			continue
		}
		var b bytes.Buffer
		b.WriteByte('[')
		for c, vals := range l.calls {
			if c > 0 {
				b.WriteByte(',')
			}
			b.Write(field)
			for i, v := range vals {
				if i > 0 {
					b.WriteByte(',')
				}
				b.Write(v)
			}
			b.WriteString("]}")
		}
		b.WriteByte(']')
		if err := fn(Result{Key: key, Response: b.Bytes()}); err != nil {
			return err
		}
	}
	return nil
}

// ExplodeEmbed reads an embeddings job's input lines from r and writes one line per input to
// w: encode(part key, input) when encode is not nil, else the {"key","request"} line of the
// input. split returns the inputs of one call body, in order. It counts the lines written in
// *n.
func ExplodeEmbed(r io.Reader, w io.Writer, split func(call json.RawMessage) ([]json.RawMessage, error),
	encode func(key string, input json.RawMessage) ([]byte, error), n *int) error {
	if encode == nil {
		encode = func(key string, input json.RawMessage) ([]byte, error) {
			return json.Marshal(InputLine{Key: key, Request: input})
		}
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, rerr := br.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			var in InputLine
			var calls []json.RawMessage
			if err := json.Unmarshal(line, &in); err != nil {
				return err
			}
			if err := json.Unmarshal(in.Request, &calls); err != nil || len(calls) == 0 {
				return fmt.Errorf("line %q: an embeddings request is not an array of calls", in.Key)
			}
			for c, call := range calls {
				inputs, err := split(call)
				if err != nil {
					return fmt.Errorf("line %q: %w", in.Key, err)
				}
				for i, input := range inputs {
					b, err := encode(PartKey(in.Key, c, i, len(inputs), len(calls)), input)
					if err != nil {
						return err
					}
					bw.Write(b)
					if err := bw.WriteByte('\n'); err != nil {
						return err
					}
					*n++
				}
			}
		}
		if errors.Is(rerr, io.EOF) {
			return bw.Flush()
		}
		if rerr != nil {
			return rerr
		}
	}
}
