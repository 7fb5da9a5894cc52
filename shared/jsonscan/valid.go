package jsonscan

import (
	"encoding/binary"
	"math/bits"
)

// maxDepth is the deepest nesting of objects and arrays encoding/json accepts (its scanner's
// maxNestingDepth): Valid refuses deeper input as json.Valid does.
const maxDepth = 10000

// Valid reports whether b is one JSON value with only white space around it: exactly what
// encoding/json.Valid reports, for every input. That includes its leniencies and limits: invalid
// UTF-8 inside a string is accepted, and nesting deeper than 10,000 objects and arrays is refused.
//
// It is a loop over the grammar rather than encoding/json's state machine (a call through a
// function pointer per byte): string contents are checked eight bytes at a time, and nesting is
// held in a bit per level, not in recursion, so deep input cannot exhaust the stack.
func Valid(b []byte) bool {
	end := ValidAt(b, SkipSpace(b, 0), 0)
	return end >= 0 && SkipSpace(b, end) == len(b)
}

// ValidAt checks the one JSON value that starts at b[i], inside open levels of objects and arrays
// already open (for the nesting limit), as Valid checks a whole text, and returns the index just
// past it, or -1 where encoding/json would refuse it. What follows the value is the caller's to
// check: a walk that reads a document value by value with ValidAt, and checks the structure
// between the values itself, accepts exactly what Valid accepts.
func ValidAt(b []byte, i, open int) int {
	var small [4]uint64 // one bit per open level, set for an object; 256 levels before growing
	stack := small[:]
	depth := 0
	for {
		// A value starts at i.
		if i >= len(b) {
			return -1
		}
		switch c := b[i]; {
		case c == '{' || c == '[':
			if depth++; depth+open > maxDepth {
				return -1
			}
			w, bit := (depth-1)>>6, uint64(1)<<((depth-1)&63)
			if w == len(stack) {
				stack = append(stack, 0)
			}
			i = SkipSpace(b, i+1)
			if c == '[' {
				stack[w] &^= bit
				if i < len(b) && b[i] == ']' {
					i++
					depth--
					break
				}
				continue // the first element
			}
			stack[w] |= bit
			if i < len(b) && b[i] == '}' {
				i++
				depth--
				break
			}
			if i = validMember(b, i); i < 0 {
				return -1
			}
			continue // the first member's value
		case c == '"':
			if i = validString(b, i); i < 0 {
				return -1
			}
		case c == 't':
			if len(b)-i < 4 || string(b[i:i+4]) != "true" {
				return -1
			}
			i += 4
		case c == 'f':
			if len(b)-i < 5 || string(b[i:i+5]) != "false" {
				return -1
			}
			i += 5
		case c == 'n':
			if len(b)-i < 4 || string(b[i:i+4]) != "null" {
				return -1
			}
			i += 4
		case c == '-' || c >= '0' && c <= '9':
			if i = validNumber(b, i); i < 0 {
				return -1
			}
		default:
			return -1
		}
		// A value ended at i: close the levels it ends, up to the next value.
		for {
			if depth == 0 {
				return i
			}
			if i = SkipSpace(b, i); i >= len(b) {
				return -1
			}
			inObject := stack[(depth-1)>>6]&(uint64(1)<<((depth-1)&63)) != 0
			if c := b[i]; c == ',' {
				i = SkipSpace(b, i+1)
				if inObject {
					if i = validMember(b, i); i < 0 {
						return -1
					}
				}
				break // the next element or member value
			} else if inObject && c == '}' || !inObject && c == ']' {
				i++
				depth--
				continue
			}
			return -1
		}
	}
}

// PlainString reports whether raw is a string literal of ASCII without escapes, which stands for
// raw[1:len(raw)-1] as it is.
func PlainString(raw []byte) bool {
	return len(raw) >= 2 && raw[0] == '"' && raw[len(raw)-1] == '"' && skipPlain(raw, 1, true) == len(raw)-1
}

// ValidString checks the string literal at b[i] == '"' as Valid does and returns the index just
// past it, or -1; plain reports that it is ASCII without escapes, so b[i+1:end-1] is the string
// it stands for as it is, with no Unquote. One look for the closing quote does both for a plain
// string.
func ValidString(b []byte, i int) (end int, plain bool) {
	if i >= len(b) || b[i] != '"' {
		return -1, false
	}
	if j := skipPlain(b, i+1, true); j < len(b) && b[j] == '"' {
		return j + 1, true
	} else if j < len(b) {
		i = j - 1 // validString goes on from b[j], where an escape or a non-ASCII byte starts
	}
	return validString(b, i), false
}

// validMember checks an object key and its colon at b[i] and returns the index of the value
// after them, white space skipped, or -1.
func validMember(b []byte, i int) int {
	if i >= len(b) || b[i] != '"' {
		return -1
	}
	if i = validString(b, i); i < 0 {
		return -1
	}
	if i = SkipSpace(b, i); i >= len(b) || b[i] != ':' {
		return -1
	}
	return SkipSpace(b, i+1)
}

// Byte masks for checking eight string bytes at once.
const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// specialBytes returns a word with the high bit set in each byte of x that is a quote, a
// backslash or a control byte (< 0x20), and with ascii false in each byte >= 0x80 too. Each
// test is the "has a zero byte" (or "has a byte below n") bit trick: a borrow can mark bytes
// above a true match, never below it, so the lowest marked byte is the first special one.
func specialBytes(x uint64, ascii bool) uint64 {
	quote := x ^ (ones * '"')
	backslash := x ^ (ones * '\\')
	special := (quote - ones) &^ quote
	special |= (backslash - ones) &^ backslash
	special |= (x - ones*0x20) &^ x
	if ascii {
		special |= x
	}
	return special & highs
}

// skipPlain returns the index of the first byte at or after i that is a quote, a backslash or a
// control byte (with ascii, or a byte >= 0x80), or len(b): eight bytes at a time, then the tail.
func skipPlain(b []byte, i int, ascii bool) int {
	for len(b)-i >= 8 {
		if m := specialBytes(binary.LittleEndian.Uint64(b[i:]), ascii); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
		i += 8
	}
	for ; i < len(b); i++ {
		if c := b[i]; c < 0x20 || c == '"' || c == '\\' || ascii && c >= 0x80 {
			return i
		}
	}
	return i
}

// validString checks the string literal at b[i] == '"' and returns the index just past it, or
// -1. Control bytes are refused, escapes are the JSON ones, and other bytes (invalid UTF-8
// included, as encoding/json accepts it) pass as they are.
func validString(b []byte, i int) int {
	i++
	for {
		if i = skipPlain(b, i, false); i >= len(b) {
			return -1
		}
		switch b[i] {
		case '"':
			return i + 1
		case '\\':
			if i+1 >= len(b) {
				return -1
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if len(b)-i < 6 || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
					return -1
				}
				i += 6
			default:
				return -1
			}
		default: // a control byte
			return -1
		}
	}
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// validNumber checks the number at b[i] (JSON's grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?)
// and returns the index just past it, or -1. What follows is the caller's to check.
func validNumber(b []byte, i int) int {
	if b[i] == '-' {
		if i++; i >= len(b) {
			return -1
		}
	}
	switch c := b[i]; {
	case c == '0':
		i++
	case c >= '1' && c <= '9':
		i = digits(b, i+1)
	default:
		return -1
	}
	if i < len(b) && b[i] == '.' {
		if i++; i >= len(b) || !isDigit(b[i]) {
			return -1
		}
		i = digits(b, i+1)
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		if i++; i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || !isDigit(b[i]) {
			return -1
		}
		i = digits(b, i+1)
	}
	return i
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// digits returns the index of the first byte at or after i that is not a digit.
func digits(b []byte, i int) int {
	for i < len(b) && isDigit(b[i]) {
		i++
	}
	return i
}
