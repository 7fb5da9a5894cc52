package gateway

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"strconv"
)

// liftMin is the shortest base64 run that liftBlobs takes out of a request body.
const liftMin = 64 << 10

// lifted holds the base64 runs taken out of a request body, by placeholder index.
type lifted struct {
	prefix []byte   // "GGLIFT" + a per-request nonce; each placeholder is prefix + 6 digits
	runs   [][]byte // slices of the original body, which must stay unmodified
}

// liftBlobs takes each long base64 string (a data: URI's payload, or a whole string value such as
// input_audio.data) out of body and puts a short placeholder made of base64 characters in its
// place, so JSON decoding, translation and encoding handle a small document instead of scanning
// megabytes byte by byte several times; splice puts the runs back into the encoded Gemini request.
// A run holds only characters that JSON decodes and encodes as themselves and sits inside a
// string, so the round trip is exact and a body's validity (JSON and base64) is unchanged.
func liftBlobs(body []byte) ([]byte, *lifted) {
	if len(body) < liftMin {
		return body, nil
	}
	var l *lifted
	var out []byte
	copied := 0 // body[:copied] is in out
	for i := 0; ; {
		q := bytes.IndexByte(body[i:], '"')
		if q < 0 {
			break
		}
		start := i + q + 1
		if bytes.HasPrefix(body[start:], []byte("data:")) {
			hdr := body[start:min(len(body), start+256)]
			if c := bytes.Index(hdr, []byte(";base64,")); c >= 0 {
				start += c + len(";base64,")
			}
		}
		n, ok := base64Run(body[start:])
		end := start + n
		if !ok || n < liftMin || end >= len(body) || body[end] != '"' {
			i = end // past the run (or past the quote when there is none)
			continue
		}
		if l == nil {
			var nonce [12]byte
			_, _ = rand.Read(nonce[:])
			l = &lifted{prefix: []byte("GGLIFT" + hex.EncodeToString(nonce[:]))}
			out = make([]byte, 0, 4096)
		}
		out = append(out, body[copied:start]...)
		out = l.placeholder(out, l.index(body[start:end]))
		copied = end
		i = end + 1
	}
	if l == nil {
		return body, nil
	}
	return append(out, body[copied:]...), l
}

// index returns the placeholder index of run, adding it unless an equal run was lifted before:
// the same bytes get the same placeholder, so the translation can tell a repeated image (a
// generated image echoed back in both message.audio and message.images[]) and send it once.
func (l *lifted) index(run []byte) int {
	for i, r := range l.runs {
		if len(r) == len(run) && bytes.Equal(r, run) {
			return i
		}
	}
	l.runs = append(l.runs, run)
	return len(l.runs) - 1
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
