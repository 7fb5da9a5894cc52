package translate

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/bits"
)

// The vectors of an embeddings answer are most of its bytes: a hundred 768-dimension vectors
// are about a megabyte of decimal numbers, and every one of them is checked (float) or parsed
// (base64) on its way out. The helpers here do that in one pass per number, eight bytes at a
// time where a number has a run of digits (SWAR: the word is tested and, for base64, converted
// with a few integer operations, instead of a loop and a branch per digit).

var errNotNumbers = errors.New("values is not an array of numbers")

const (
	everyByte = 0x0101010101010101
	asciiZero = '0' * everyByte
)

// nonDigits returns w, eight bytes of text read little-endian, with a nonzero byte wherever the
// text's byte is not an ASCII digit. Only the first such byte is exact, which is all its callers
// read: a byte xor '0' is a digit's value, below 10, or at least 10; adding 0x76 sets the top bit
// of the latter, and carries out of a byte only when its top bit was set already (no digit),
// toward later bytes.
func nonDigits(w uint64) uint64 {
	t := w ^ asciiZero
	return (t + 0x76*everyByte | t) & (0x80 * everyByte)
}

// digitsEnd returns the index of the first byte at or after i that is not an ASCII digit.
// A run of up to 15 digits takes no branch on its length.
func digitsEnd(v []byte, i int) int {
	if i+16 <= len(v) {
		n0 := bits.TrailingZeros64(nonDigits(binary.LittleEndian.Uint64(v[i:]))) >> 3 // 8: all digits
		n1 := bits.TrailingZeros64(nonDigits(binary.LittleEndian.Uint64(v[i+8:]))) >> 3
		if n := n0 + n1&-(n0>>3); n < 16 {
			return i + n
		}
		i += 16
	}
	for ; i+8 <= len(v); i += 8 {
		if m := nonDigits(binary.LittleEndian.Uint64(v[i:])); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for i < len(v) && v[i]-'0' < 10 {
		i++
	}
	return i
}

// compactNumbers reports whether v is a JSON array of numbers without any whitespace, [] aside:
// the usual vector (prettyPrint=false), which then goes out as the very bytes Google sent.
//
// Where a number ends is known only once it is read, so reading numbers one after the other is
// a chain of dependent steps, each waiting for the last. The vector is therefore cut at a comma
// into two lanes, checked in the same loop one number of each per turn, which the processor
// runs side by side; their state is in locals and the turn is written out for each lane, so
// that it stays in registers. The common number of an embedding, below one in magnitude with
// 8 to 15 digits ("-0.0123456789"), is read from the 32 bytes where it starts with no branch on
// its sign or length, every test folded into one word; anything else, and the last numbers of
// each lane, go to scanNumber's general grammar.
func compactNumbers(v []byte) bool {
	n := len(v)
	if n < 3 || v[0] != '[' || v[n-1] != ']' {
		return false
	}
	// Lane a holds the numbers from v[a] up to v[sa], the comma that ends it, and lane b those
	// from v[b] to the closing bracket; without the cut, lane a is the whole vector. A number
	// cannot run past a comma, so the lanes cannot overlap.
	a, sa, b := 1, n-1, n
	if n >= 128 {
		if c := bytes.IndexByte(v[n/2:n-1], ','); c >= 0 {
			sa, b = n/2+c, n/2+c+1
		}
	}
	if b < n {
		// A number is read from the 32 bytes where it starts, which v must hold, and ends at
		// or before its lane's stop.
		la, lb := min(sa, n-32), n-32
		for {
			// The turns call nothing, so that the lanes' state need not be kept in memory
			// across a call: a number not of the common form ends them, and is read after, by
			// numberEnd.
			slow := 0 // the lane whose number ended the turns, or 0
			for a <= la && b <= lb {
				// Lane a: -?0. and 8 digits in t0, then in t1 up to 7 more and the comma.
				s := (*[32]byte)(v[a : a+32])
				sign := 0
				if s[0] == '-' {
					sign = 1
				}
				t0 := binary.LittleEndian.Uint64(s[sign+2:]) ^ asciiZero
				n1 := bits.TrailingZeros64(nonDigits(binary.LittleEndian.Uint64(s[sign+10:]))|1<<63) >> 3 // t1's digits; 7: seven or more, and no comma
				if (t0+0x76*everyByte|t0)&(0x80*everyByte)|(uint64(binary.LittleEndian.Uint16(s[sign:]))^zeroDot)|(uint64(s[sign+10+n1])^',') != 0 {
					slow = 1
					break
				}
				a += sign + 11 + n1

				// Lane b, the same.
				s = (*[32]byte)(v[b : b+32])
				sign = 0
				if s[0] == '-' {
					sign = 1
				}
				t0 = binary.LittleEndian.Uint64(s[sign+2:]) ^ asciiZero
				n1 = bits.TrailingZeros64(nonDigits(binary.LittleEndian.Uint64(s[sign+10:]))|1<<63) >> 3
				if (t0+0x76*everyByte|t0)&(0x80*everyByte)|(uint64(binary.LittleEndian.Uint16(s[sign:]))^zeroDot)|(uint64(s[sign+10+n1])^',') != 0 {
					slow = 2
					break
				}
				b += sign + 11 + n1
			}
			if slow == 1 {
				e := numberEnd(v, a)
				if v[e] != ',' {
					return false // every number of lane a ends at a comma
				}
				a = e + 1
			} else if slow == 2 {
				e := numberEnd(v, b)
				if v[e] != ',' {
					break // an error, or the last number: left to the loop below
				}
				b = e + 1
			} else {
				break
			}
		}
		if !scanNumbers(v, b, n-1) {
			return false
		}
	}
	return scanNumbers(v, a, sa)
}

// scanNumbers reports whether v[i:stop] is numbers separated by commas, the last ending at stop
// (nothing when i is past stop).
func scanNumbers(v []byte, i, stop int) bool {
	for i <= stop {
		e, ok := scanNumber(v, i)
		if !ok || e != stop && v[e] != ',' {
			return false
		}
		i = e + 1
	}
	return true
}

// zeroDot is "0." read as a little-endian 16-bit word.
const zeroDot = '0' | '.'<<8

// numberEnd returns the end of the number at v[i] (scanNumber), or 0 when there is none: v[0]
// is the array's '[', which its callers take for no separator.
func numberEnd(v []byte, i int) int {
	if e, ok := scanNumber(v, i); ok {
		return e
	}
	return 0
}

// appendFloatVector appends the JSON array v of numbers, each checked against JSON's number
// grammar, with any whitespace removed. Upstream bodies are not fully validated before (see
// gemini.decodeEmbedResponse), so this is where a broken vector is caught.
func appendFloatVector(dst, v []byte) ([]byte, error) {
	if compactNumbers(v) {
		// The usual case (prettyPrint=false): checked in one pass, copied in one move.
		return append(dst, v...), nil
	}
	i := skipSpace(v, 0)
	if i >= len(v) || v[i] != '[' {
		return dst, errNotNumbers
	}
	i++
	start := len(dst)
	dst = append(dst, '[')
	for {
		i = skipSpace(v, i)
		end, ok := scanNumber(v, i)
		if !ok {
			return dst[:start], errNotNumbers
		}
		dst = append(dst, v[i:end]...)
		i = skipSpace(v, end)
		if i >= len(v) {
			return dst[:start], errNotNumbers
		}
		if v[i] == ']' {
			break
		}
		if v[i] != ',' {
			return dst[:start], errNotNumbers
		}
		dst = append(dst, ',')
		i++
	}
	if skipSpace(v, i+1) != len(v) {
		return dst[:start], errNotNumbers
	}
	return append(dst, ']'), nil
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && b[i] <= ' ' && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
		i++
	}
	return i
}

// scanNumber returns the end of the JSON number that starts at v[i]
// (-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?), and whether there is one.
func scanNumber(v []byte, i int) (int, bool) {
	if i < len(v) && v[i] == '-' {
		i++
	}
	switch {
	case i >= len(v):
		return i, false
	case v[i] == '0':
		i++
	case v[i] >= '1' && v[i] <= '9':
		i = digitsEnd(v, i)
	default:
		return i, false
	}
	if i < len(v) && v[i] == '.' {
		d := digitsEnd(v, i+1)
		if d == i+1 {
			return i, false
		}
		i = d
	}
	if i < len(v) && (v[i] == 'e' || v[i] == 'E') {
		i++
		if i < len(v) && (v[i] == '+' || v[i] == '-') {
			i++
		}
		d := digitsEnd(v, i)
		if d == i {
			return i, false
		}
		i = d
	}
	return i, true
}
