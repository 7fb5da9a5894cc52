// Package jsonscan walks JSON text without decoding it: it finds where values begin and end,
// lists the members of an object and the elements of an array as subslices of the input, and
// unquotes strings. It is the one hand-written JSON scanner of the gateway, shared by request
// decoding (openai), the base64 lift (gateway) and the schema tree (jsonschema).
//
// Strings are skipped quote to quote with bytes.IndexByte, so a multi-megabyte base64 value costs
// a memchr-speed pass and no allocation. The scanner checks structure (brackets, colons, commas,
// terminated strings) but not every byte of a literal: on valid JSON it finds exactly what
// encoding/json finds; on invalid JSON it returns an error or stops, and never panics. Callers
// that need full validation run Valid (encoding/json.Valid's answer, fuzzed against it) on the
// same bytes, or, to check as they walk, ValidAt on each value they read (ObjectAt and ArrayAt
// check everything between the values: keys, colons, commas, brackets).
package jsonscan

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"unicode/utf16"
	"unicode/utf8"
)

// ErrSyntax is returned (wrapped, with the offset) for text that is not JSON.
var ErrSyntax = errors.New("jsonscan: invalid JSON")

func syntaxError(b []byte, i int, what string) error {
	if i >= len(b) {
		return fmt.Errorf("%w: unexpected end of input, %s", ErrSyntax, what)
	}
	return fmt.Errorf("%w: at byte %d, %s", ErrSyntax, i, what)
}

// SkipSpace returns the index of the first byte at or after i that is not JSON white space.
func SkipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// SkipString returns the index just past the string literal that starts at b[i] == '"'. It jumps
// from quote to quote; a quote preceded by an odd number of backslashes is escaped.
func SkipString(b []byte, i int) (int, error) {
	if i >= len(b) || b[i] != '"' {
		return i, syntaxError(b, i, "want a string")
	}
	start := i
	i++
	// Most strings (keys, roles, short values) end within a few words: look for the closing
	// quote eight bytes at a time, and leave a backslash or a long string to the search below.
	for n := 0; n < 4 && len(b)-i >= 8; n++ {
		x := binary.LittleEndian.Uint64(b[i:])
		quote, backslash := x^(ones*'"'), x^(ones*'\\')
		m := ((quote-ones)&^quote | (backslash-ones)&^backslash) & highs
		if m == 0 {
			i += 8
			continue
		}
		if j := i + bits.TrailingZeros64(m)>>3; b[j] == '"' {
			return j + 1, nil
		}
		break
	}
	for {
		j := bytes.IndexByte(b[i:], '"')
		if j < 0 {
			return len(b), syntaxError(b, len(b), "unterminated string")
		}
		i += j
		n := 0
		for k := i - 1; k > start && b[k] == '\\'; k-- {
			n++
		}
		i++
		if n%2 == 0 {
			return i, nil
		}
	}
}

// SkipValue returns the index just past the value that starts at or after b[i] (leading space is
// skipped). Nesting is followed with a depth count, not recursion, so deep input cannot exhaust
// the stack.
func SkipValue(b []byte, i int) (int, error) {
	i = SkipSpace(b, i)
	if i >= len(b) {
		return i, syntaxError(b, i, "want a value")
	}
	switch b[i] {
	case '"':
		return SkipString(b, i)
	case '{', '[':
		// One bit per open level, set for an object: 256 levels before the stack grows.
		var small [4]uint64
		stack := small[:]
		depth := 0
		for i < len(b) {
			switch c := b[i]; c {
			case '"':
				end, err := SkipString(b, i)
				if err != nil {
					return end, err
				}
				i = end
				continue
			case '{', '[':
				w, bit := depth>>6, uint64(1)<<(depth&63)
				if w == len(stack) {
					stack = append(stack, 0)
				}
				if c == '{' {
					stack[w] |= bit
				} else {
					stack[w] &^= bit
				}
				depth++
			case '}', ']':
				if depth == 0 || (stack[(depth-1)>>6]&(uint64(1)<<((depth-1)&63)) != 0) != (c == '}') {
					return i, syntaxError(b, i, "mismatched "+string(c))
				}
				if depth--; depth == 0 {
					return i + 1, nil
				}
			}
			i++
		}
		return i, syntaxError(b, i, "unterminated object or array")
	}
	start := i
	for i < len(b) {
		switch b[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r', '"', '{', '[', ':':
			if i == start {
				return i, syntaxError(b, i, "want a value")
			}
			return i, nil
		}
		i++
	}
	return i, nil
}

// Kind returns the first byte of the value in b after white space: '{', '[', '"', 'n' (null),
// 't' or 'f' (booleans), a digit or '-' (numbers); 0 for empty input.
func Kind(b []byte) byte {
	i := SkipSpace(b, 0)
	if i >= len(b) {
		return 0
	}
	return b[i]
}

// IsNull reports whether b, less white space, is the literal null.
func IsNull(b []byte) bool {
	i := SkipSpace(b, 0)
	return len(b)-i >= 4 && string(b[i:i+4]) == "null" && SkipSpace(b, i+4) == len(b)
}

// Object calls fn with each member of the object that is b (white space around it allowed): the
// key unquoted, and the value as a subslice of b without surrounding space. The key slice is only
// valid during the call. fn's error stops the walk and is returned as is.
func Object(b []byte, fn func(key, val []byte) error) error {
	end, err := ObjectAt(b, 0, func(key, _ []byte, i int) (int, error) {
		vend, err := SkipValue(b, i)
		if err != nil {
			return vend, err
		}
		return vend, fn(key, b[i:vend])
	})
	if err != nil {
		return err
	}
	return trailing(b, end)
}

// Array calls fn with the index and the value of each element of the array that is b. fn's error
// stops the walk and is returned as is.
func Array(b []byte, fn func(n int, val []byte) error) error {
	end, err := ArrayAt(b, 0, func(n, i int) (int, error) {
		vend, err := SkipValue(b, i)
		if err != nil {
			return vend, err
		}
		return vend, fn(n, b[i:vend])
	})
	if err != nil {
		return err
	}
	return trailing(b, end)
}

// ObjectAt walks the object that starts at or after b[i] in one pass: fn gets each key unquoted,
// the key as written (quotes included, a subslice of b), and the index where its value starts,
// and returns the index just past the value, having skipped it (SkipValue) or walked into it.
// ObjectAt returns the index just past the object.
func ObjectAt(b []byte, i int, fn func(key, rawKey []byte, start int) (end int, err error)) (int, error) {
	i = SkipSpace(b, i)
	if i >= len(b) || b[i] != '{' {
		return i, syntaxError(b, i, "want an object")
	}
	i = SkipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, nil
	}
	var scratch []byte
	for {
		i = SkipSpace(b, i)
		kstart := i
		var end int
		var key []byte
		var err error
		// A key of plain ASCII is found and checked in one look for its closing quote.
		if i < len(b) && b[i] == '"' {
			if j := skipPlain(b, i+1, true); j < len(b) && b[j] == '"' {
				end, key = j+1, b[i+1:j]
			}
		}
		if key == nil {
			if end, err = SkipString(b, i); err != nil {
				return end, err
			}
			key = b[i+1 : end-1]
			if !plain(key) {
				s, err := Unquote(b[i:end])
				if err != nil {
					return end, err
				}
				scratch = append(scratch[:0], s...)
				key = scratch
			}
		}
		i = SkipSpace(b, end)
		if i >= len(b) || b[i] != ':' {
			return i, syntaxError(b, i, "want ':' after an object key")
		}
		vstart := SkipSpace(b, i+1)
		if vstart >= len(b) {
			return vstart, syntaxError(b, vstart, "want a value")
		}
		if i, err = fn(key, b[kstart:end:end], vstart); err != nil {
			return i, err
		}
		if i = SkipSpace(b, i); i >= len(b) {
			return i, syntaxError(b, i, "unterminated object")
		}
		switch b[i] {
		case ',':
			i++
		case '}':
			return i + 1, nil
		default:
			return i, syntaxError(b, i, "want ',' or '}' in an object")
		}
	}
}

// ArrayAt walks the array that starts at or after b[i] in one pass, as ObjectAt walks an object:
// fn gets each element's index n and start, and returns the index just past it.
func ArrayAt(b []byte, i int, fn func(n, start int) (end int, err error)) (int, error) {
	i = SkipSpace(b, i)
	if i >= len(b) || b[i] != '[' {
		return i, syntaxError(b, i, "want an array")
	}
	i = SkipSpace(b, i+1)
	if i < len(b) && b[i] == ']' {
		return i + 1, nil
	}
	for n := 0; ; n++ {
		vstart := SkipSpace(b, i)
		if vstart >= len(b) {
			return vstart, syntaxError(b, vstart, "want a value")
		}
		var err error
		if i, err = fn(n, vstart); err != nil {
			return i, err
		}
		if i = SkipSpace(b, i); i >= len(b) {
			return i, syntaxError(b, i, "unterminated array")
		}
		switch b[i] {
		case ',':
			i++
		case ']':
			return i + 1, nil
		default:
			return i, syntaxError(b, i, "want ',' or ']' in an array")
		}
	}
}

// Len returns the number of elements of the array that is b, stopping early once it passes max
// (then it returns max+1), so a limit can be checked before anything is decoded.
func Len(b []byte, max int) (int, error) {
	n := 0
	err := Array(b, func(int, []byte) error {
		n++
		if n > max {
			return errStop
		}
		return nil
	})
	if err == errStop {
		return n, nil
	}
	return n, err
}

var errStop = errors.New("stop")

func trailing(b []byte, i int) error {
	if i = SkipSpace(b, i); i < len(b) {
		return syntaxError(b, i, "unexpected data after the value")
	}
	return nil
}

// Unquote returns the string a JSON string literal stands for, as encoding/json decodes it
// (escapes resolved, invalid UTF-8 and lone surrogates replaced by U+FFFD), or an error where
// encoding/json refuses the literal. The common case, no escapes and valid UTF-8, is one copy.
func Unquote(raw []byte) (string, error) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", syntaxError(raw, 0, "want a string")
	}
	s := raw[1 : len(raw)-1]
	if plain(s) {
		return string(s), nil
	}
	var buf [128]byte
	b := buf[:0]
	for r := 0; r < len(s); {
		switch c := s[r]; {
		case c == '\\':
			if r+1 >= len(s) {
				return "", syntaxError(raw, r+1, "unterminated escape")
			}
			switch e := s[r+1]; e {
			case '"', '\\', '/':
				b = append(b, e)
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				rr := hex4(s[r:])
				if rr < 0 {
					return "", syntaxError(raw, r+1, "invalid \\u escape")
				}
				r += 6
				if utf16.IsSurrogate(rr) {
					// A pair is one rune; a lone half is U+FFFD, as encoding/json has it.
					if dec := utf16.DecodeRune(rr, hex4(s[r:])); dec != utf8.RuneError {
						b = utf8.AppendRune(b, dec)
						r += 6
						continue
					}
					rr = utf8.RuneError
				}
				b = utf8.AppendRune(b, rr)
				continue
			default:
				return "", syntaxError(raw, r+1, "invalid escape")
			}
			r += 2
		case c == '"' || c < 0x20:
			return "", syntaxError(raw, r+1, "invalid byte in a string")
		case c < utf8.RuneSelf:
			b = append(b, c)
			r++
		default:
			rr, size := utf8.DecodeRune(s[r:]) // U+FFFD for each byte of invalid UTF-8
			b = utf8.AppendRune(b, rr)
			r += size
		}
	}
	return string(b), nil
}

// hex4 returns the code unit of the \uXXXX escape that s starts with, or -1.
func hex4(s []byte) rune {
	if len(s) < 6 || s[0] != '\\' || s[1] != 'u' {
		return -1
	}
	var r rune
	for _, c := range s[2:6] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}

// plain reports whether s needs no unescaping: no backslash, quote or control byte, valid UTF-8.
func plain(s []byte) bool {
	i := skipPlain(s, 0, true)
	if i == len(s) {
		return true
	}
	return s[i] >= utf8.RuneSelf && skipPlain(s, i, false) == len(s) && utf8.Valid(s[i:])
}
