package gateway

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"strconv"

	"github.com/geminigateway/gateway/shared/jsonscan"
)

// liftMin is the shortest base64 run that liftBlobs takes out of a request body.
const liftMin = 64 << 10

// lifted holds the base64 runs taken out of a request body, by placeholder index.
type lifted struct {
	prefix []byte   // "GGLIFT" + a per-request nonce; each placeholder is prefix + 6 digits
	runs   [][]byte // slices of the original body, which must stay unmodified
}

// span is a run of body[start:end] to be lifted.
type span struct{ start, end int }

// liftBlobs takes the long base64 payloads of media out of body and puts a short placeholder made
// of base64 characters in their place, so JSON decoding, translation and encoding handle a small
// document instead of scanning megabytes byte by byte several times; splice puts the runs back
// into the encoded Gemini request.
//
// It lifts only where the request's structure says a value is an opaque media payload, found by
// walking the JSON with jsonscan: messages[].content[].image_url(.url) (the data of a data: URI),
// .input_audio.data and .file.file_data, and messages[].extra_content.google.parts[] inline
// data. Each such value is passed through unread by translation, so the lifted and unlifted
// bodies give the same upstream bytes (TestLiftedAndUnliftedAgree). A run holds only
// characters that JSON decodes and encodes as themselves, so the round trip is exact and a body's
// validity (JSON and base64) is unchanged. Text that is not JSON is returned as is.
func liftBlobs(body []byte, min int) ([]byte, *lifted) {
	if len(body) < min {
		return body, nil
	}
	w := liftWalker{b: body, min: min}
	if !w.walk() || len(w.spans) == 0 {
		return body, nil
	}
	var nonce [12]byte
	_, _ = rand.Read(nonce[:])
	l := &lifted{prefix: []byte("GGLIFT" + hex.EncodeToString(nonce[:])), runs: make([][]byte, 0, len(w.spans))}
	size := len(body)
	for _, s := range w.spans {
		size -= s.end - s.start - placeholderLen
	}
	out := make([]byte, 0, size)
	copied := 0
	for _, s := range w.spans {
		out = append(out, body[copied:s.start]...)
		out = l.placeholder(out, len(l.runs))
		l.runs = append(l.runs, body[s.start:s.end])
		copied = s.end
	}
	return append(out, body[copied:]...), l
}

// liftWalker finds the spans to lift in one pass over the body.
type liftWalker struct {
	b     []byte
	min   int
	spans []span
}

// walk reports whether body is an object it could walk to the end.
func (w *liftWalker) walk() bool {
	_, err := jsonscan.ObjectAt(w.b, 0, func(k, _ []byte, i int) (int, error) {
		if string(k) == "messages" && w.b[i] == '[' {
			return jsonscan.ArrayAt(w.b, i, func(_, i int) (int, error) { return w.message(i) })
		}
		return jsonscan.SkipValue(w.b, i)
	})
	return err == nil
}

// object walks the object at b[i] when there is one, calling fn for each member; anything else
// is skipped.
func (w *liftWalker) object(i int, fn func(k, rawKey []byte, i int) (int, error)) (int, error) {
	if w.b[i] != '{' {
		return jsonscan.SkipValue(w.b, i)
	}
	return jsonscan.ObjectAt(w.b, i, fn)
}

// array walks the array at b[i] when there is one.
func (w *liftWalker) array(i int, fn func(i int) (int, error)) (int, error) {
	if w.b[i] != '[' {
		return jsonscan.SkipValue(w.b, i)
	}
	return jsonscan.ArrayAt(w.b, i, func(_, i int) (int, error) { return fn(i) })
}

// member walks the member named key of the object at b[i] with fn.
func (w *liftWalker) member(i int, key string, fn func(i int) (int, error)) (int, error) {
	return w.object(i, func(k, _ []byte, i int) (int, error) {
		if string(k) == key {
			return fn(i)
		}
		return jsonscan.SkipValue(w.b, i)
	})
}

func (w *liftWalker) message(i int) (int, error) {
	return w.object(i, func(k, _ []byte, i int) (int, error) {
		switch string(k) {
		case "content":
			return w.array(i, w.part)
		case "extra_content":
			return w.member(i, "google", func(i int) (int, error) {
				return w.member(i, "parts", func(i int) (int, error) {
					return w.array(i, func(i int) (int, error) {
						return w.object(i, func(k, _ []byte, i int) (int, error) {
							switch string(k) {
							case "inline_data", "inlineData":
								return w.member(i, "data", w.payload)
							}
							return jsonscan.SkipValue(w.b, i)
						})
					})
				})
			})
		}
		return jsonscan.SkipValue(w.b, i)
	})
}

func (w *liftWalker) part(i int) (int, error) {
	return w.object(i, func(k, _ []byte, i int) (int, error) {
		switch string(k) {
		case "image_url":
			if w.b[i] == '"' {
				return w.payload(i)
			}
			return w.member(i, "url", w.payload)
		case "input_audio":
			return w.member(i, "data", w.payload)
		case "file":
			return w.member(i, "file_data", w.payload)
		}
		return jsonscan.SkipValue(w.b, i)
	})
}

// payload records the base64 of the string at b[i] for lifting when it is long enough: the whole
// string, or what follows ";base64," in a data: URI.
func (w *liftWalker) payload(i int) (int, error) {
	end, err := jsonscan.SkipValue(w.b, i)
	if err != nil || w.b[i] != '"' {
		return end, err
	}
	start := i + 1
	if bytes.HasPrefix(w.b[start:end], []byte("data:")) {
		hdr := w.b[start:min(end, start+256)]
		c := bytes.Index(hdr, []byte(";base64,"))
		if c < 0 {
			return end, nil
		}
		start += c + len(";base64,")
	}
	n, ok := base64Run(w.b[start : end-1])
	if ok && n >= w.min && start+n == end-1 {
		w.spans = append(w.spans, span{start, end - 1})
	}
	return end, nil
}

func (l *lifted) placeholder(dst []byte, i int) []byte {
	dst = append(dst, l.prefix...)
	s := strconv.Itoa(1000000 + i) // 7 digits; the leading 1 is dropped
	return append(dst, s[1:]...)
}

const placeholderLen = 6 + 24 + 6 // a multiple of 4, so it is valid base64 itself

// splice returns enc with every placeholder replaced by its run, in a new slice of the exact
// size; enc itself when nothing was lifted.
func (l *lifted) splice(enc []byte) []byte {
	if l == nil {
		return enc
	}
	size := len(enc)
	for rest := enc; ; {
		k := bytes.Index(rest, l.prefix)
		if k < 0 || k+placeholderLen > len(rest) {
			break
		}
		idx, err := strconv.Atoi(string(rest[k+len(l.prefix) : k+placeholderLen]))
		if err == nil && idx < len(l.runs) {
			size += len(l.runs[idx]) - placeholderLen
		}
		rest = rest[k+placeholderLen:]
	}
	out := make([]byte, 0, size)
	for rest := enc; ; {
		k := bytes.Index(rest, l.prefix)
		if k < 0 || k+placeholderLen > len(rest) {
			return append(out, rest...)
		}
		out = append(out, rest[:k]...)
		idx, err := strconv.Atoi(string(rest[k+len(l.prefix) : k+placeholderLen]))
		if err == nil && idx < len(l.runs) {
			out = append(out, l.runs[idx]...)
		} else {
			out = append(out, rest[k:k+placeholderLen]...)
		}
		rest = rest[k+placeholderLen:]
	}
}

// contains reports whether b holds one of l's placeholders.
func (l *lifted) contains(b []byte) bool {
	return l != nil && bytes.Contains(b, l.prefix)
}

// base64Run returns the length of the run of base64 characters at the start of b, and whether
// it is well-formed: padding only at its end, at most two, and a length the padding allows.
func base64Run(b []byte) (int, bool) {
	n := 0
	for n < len(b) && b64[b[n]] {
		n++
	}
	pad := 0
	for n+pad < len(b) && pad < 2 && b[n+pad] == '=' {
		pad++
	}
	total := n + pad
	if pad > 0 && total%4 != 0 || pad == 0 && total%4 == 1 {
		return total, false
	}
	return total, true
}

var b64 = func() (t [256]bool) {
	for _, c := range "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/" {
		t[c] = true
	}
	return t
}()
