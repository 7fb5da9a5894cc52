package translate

// The base64 path of the embedding vectors: each number parsed straight to float32 and the
// float32s encoded in standard base64 (encoding_format "base64"). The float path and the number
// grammar are in embeddings_numbers.go.

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"math"
	"math/bits"
	"slices"
	"strconv"
)

// appendBase64Vector appends v's numbers as a JSON string holding the standard base64 of
// their little-endian float32 encoding, the format of OpenAI's encoding_format "base64".
// Each number is checked and rounded once, straight from its decimal form to float32
// (parseNumber32, or compactFloat32s' own reader of the common form), and its four bytes are
// written r bytes past where the string starts, in dst's capacity; the string is then
// encoded over them, front to back (encodeBase64At; base64 is longer than what it encodes, but
// r is at least 4 per block of twelve bytes, so the bytes still to be read stay ahead): no
// []float32 and no byte buffer besides the answer.
//
// Where dst has room for it, the numbers are not counted first: the lanes are placed by a
// bound on their count, half the vector's length, and r by the bound too (2.7 times the
// vector's length in all, which an answer's buffer sized for many vectors has until its last
// ones). Else their commas are counted, and dst is grown by the string's exact size, as
// before: it is never grown for the bound.
func appendBase64Vector(dst, v []byte) ([]byte, error) {
	i := skipSpace(v, 0)
	last := len(v) - 1 // the closing bracket
	for last > i && (v[last] == ' ' || v[last] == '\n' || v[last] == '\r' || v[last] == '\t') {
		last--
	}
	if i >= last || v[i] != '[' || v[last] != ']' {
		return dst, errNotNumbers
	}
	v = v[i : last+1]
	ln := cutFloat32Lanes(v)
	start := len(dst)
	bound := ln.bound(len(v))
	r := 4 * ((bound + 2) / 3) // 4 for each block of twelve bytes of up to bound numbers
	if room := 2 + max(r+4*bound, base64.StdEncoding.EncodedLen(4*bound)); cap(dst)-start < room {
		bound = ln.count(v)
		r = base64.StdEncoding.EncodedLen(4*bound) - 4*bound // raw is the string's tail
		dst = slices.Grow(dst, r+4*bound+2)
	}
	out := dst[start+1 : cap(dst)]
	raw := out[r : r+4*bound]
	count, ok := compactFloat32s(v, raw, ln)
	if !ok {
		// White space around the numbers, or not a vector: counted, then read one by one.
		if count = bytes.Count(v, []byte{','}) + 1; count > bound || !spacedFloat32s(v, raw[:4*count]) {
			return dst[:start], errNotNumbers
		}
	}
	encodeBase64At(out, r, count)
	size := base64.StdEncoding.EncodedLen(4 * count)
	dst = dst[:start+size+2]
	dst[start], dst[start+size+1] = '"', '"'
	return dst, nil
}

// float32Lanes are the stretches of a vector compactFloat32s reads side by side: lane l reads
// from v[pos[l]] up to v[stop[l]], the comma after its last number or, for the last lane, the
// closing bracket, and its numbers go to raw[at[l]:]; m lanes are used.
type float32Lanes struct {
	pos, stop, at [2]int
	m             int
}

// cutFloat32Lanes cuts v, a vector from its opening to its closing bracket, at a comma into
// lanes (two when it is long enough), with no pass over v; bound or count then places them.
func cutFloat32Lanes(v []byte) (ln float32Lanes) {
	n := len(v)
	ln.pos[0], ln.stop[0], ln.m = 1, n-1, 1
	if n >= 128 {
		if c := bytes.IndexByte(v[n/2:n-1], ','); c >= 0 {
			ln.stop[0] = n/2 + c
			ln.pos[1], ln.stop[1], ln.m = n/2+c+1, n-1, 2
		}
	}
	return ln
}

// bound places the lanes of a vector of n bytes by a bound on their numbers, and returns the
// bound on all of them: a number and the comma or bracket after it take two bytes or more, so
// the b bytes of a lane, from its first to its stop, hold at most b/2 numbers.
func (ln *float32Lanes) bound(n int) int {
	if ln.m == 1 {
		return (n - 1) / 2
	}
	ln.at[1] = 4 * (ln.stop[0] / 2)
	return ln.stop[0]/2 + (n-ln.pos[1])/2
}

// count places the lanes of v by the numbers before each, and returns how many v has: its
// commas and one, exact when v is valid, which the readers check.
func (ln *float32Lanes) count(v []byte) int {
	before := 0
	if ln.m == 2 {
		before = bytes.Count(v[:ln.stop[0]], []byte{','}) + 1
		ln.at[1] = 4 * before
	}
	return before + bytes.Count(v[ln.pos[ln.m-1]:], []byte{','}) + 1
}

// compactFloat32s writes to raw, little-endian, the float32 of each number of v, a JSON array of
// numbers without white space, one after the other, and reports how many and whether v is
// one. As in compactNumbers, a long
// vector is cut at commas into lanes (cutFloat32Lanes), here two, read one number of each per
// turn, so that the work on the numbers of the two lanes (the conversions to float above all) overlaps.
// The lanes' state is in locals and the turn written out for each lane, so that it stays in
// registers.
func compactFloat32s(v, raw []byte, ln float32Lanes) (count int, ok bool) {
	pos, stop, at, m := ln.pos, ln.stop, ln.at, ln.m
	if m == 2 && len(v) >= 32 {
		// Lane a reads from v[a] and writes to raw[oa:], lane b from v[b] to raw[ob:]. A number
		// is read from the 32 bytes where it starts, which v must hold, and ends at or before its
		// lane's stop (a comma cannot be in a number).
		a, b, oa, ob := pos[0], pos[1], at[0], at[1]
		la, lb := min(stop[0], len(v)-32), min(stop[1], len(v)-32)
		for {
			// The turns call nothing, so that the lanes' state need not be kept in memory
			// across a call: a number not of the common form ends them, and is read here,
			// after, by shortZeroDot32 (1 to 7 digits) or parseNumber32.
			slow := 0 // the lane whose number ended the turns, or 0
			for a <= la && b <= lb {
				// Lane a. The number Gemini writes for a float32 below one, -?0.<8 to 12 digits>
				// ("-0.0012345678"), is read here. Its first eight digits are t0, the next four
				// bytes t1 hold n1 ≤ 4 more, then comes the comma (a fifth digit is no comma, and
				// t1 is a 32-bit word, whose masks need no 64-bit constants). The digits d, k =
				// 8+n1 of them, make D = d * 10^(12-k) < 10^12 < 2^53, exact in a float64, and
				// y = D * c, c the float64 nearest 10^-12 (a multiplication: a division takes
				// several times as long). With X = d / 10^k in [2^-p, 2^(1-p)), y is within half
				// an ulp, 2^-(p+53), plus |c*10^12 - 1| * X < 2^-55.4 * 2^(1-p) of X, so
				// |y - X| < 2^-(p+52.5). Rounded to float32, y gives X rounded once unless a
				// float32 midpoint M lies between them or at y, and none is that close to X: a
				// midpoint of another binade is at least 2^-(p+25) away, and one of X's, an odd
				// multiple of 2^-(p+24), makes M * 10^12 an odd multiple of 2^-(p+12), at least
				// that far from the integer D, so |X - M| ≥ 2^-(p+12) / 10^12 > 2^-(p+51.87)
				// (10^12 < 2^39.87). TestBase64RoundingAllMidpoints checks it for every midpoint
				// of [1/16, 1) and a sample of smaller ones (parseNumber32, for up to 19 digits,
				// has no such bound and checks). X is at least 10^-12, far from float32's
				// subnormals. The tests of the form are folded into one word, zero only for it.
				s := (*[32]byte)(v[a : a+32])
				sign := 0
				if s[0] == '-' {
					sign = 1
				}
				t0 := binary.LittleEndian.Uint64(s[sign+2:]) ^ asciiZero
				t1 := binary.LittleEndian.Uint32(s[sign+10:]) ^ '0'*0x01010101
				n1 := bits.TrailingZeros32((t1+0x76767676|t1)&0x80808080) >> 3 // t1's digits, 4 if all (more are no comma)
				x := e12Float32(eightDigits(t0)*1e4+fourDigits(uint64(t1&lowBytes32[n1])), sign)
				if (t0+0x76*everyByte|t0)&(0x80*everyByte)|(uint64(binary.LittleEndian.Uint16(s[sign:]))^zeroDot)|
					(uint64(s[sign+10+n1])^',') != 0 {
					slow = 1
					break
				}
				binary.LittleEndian.PutUint32(raw[oa:oa+4], math.Float32bits(x))
				a, oa = a+sign+11+n1, oa+4

				// Lane b, the same.
				s = (*[32]byte)(v[b : b+32])
				sign = 0
				if s[0] == '-' {
					sign = 1
				}
				t0 = binary.LittleEndian.Uint64(s[sign+2:]) ^ asciiZero
				t1 = binary.LittleEndian.Uint32(s[sign+10:]) ^ '0'*0x01010101
				n1 = bits.TrailingZeros32((t1+0x76767676|t1)&0x80808080) >> 3
				x = e12Float32(eightDigits(t0)*1e4+fourDigits(uint64(t1&lowBytes32[n1])), sign)
				if (t0+0x76*everyByte|t0)&(0x80*everyByte)|(uint64(binary.LittleEndian.Uint16(s[sign:]))^zeroDot)|
					(uint64(s[sign+10+n1])^',') != 0 {
					slow = 2
					break
				}
				binary.LittleEndian.PutUint32(raw[ob:ob+4], math.Float32bits(x))
				b, ob = b+sign+11+n1, ob+4
			}
			if slow == 1 {
				if x, e, ok := shortZeroDot32(v, a); ok {
					binary.LittleEndian.PutUint32(raw[oa:oa+4], x)
					a, oa = e, oa+4
					continue
				}
				f, e, ok := parseNumber32(v, a)
				if !ok || v[e] != ',' {
					break // an error (lane a's last number ends at the cut, a comma): the loop below reports it
				}
				binary.LittleEndian.PutUint32(raw[oa:oa+4], math.Float32bits(f))
				a, oa = e+1, oa+4
			} else if slow == 2 {
				if x, e, ok := shortZeroDot32(v, b); ok {
					binary.LittleEndian.PutUint32(raw[ob:ob+4], x)
					b, ob = e, ob+4
					continue
				}
				f, e, ok := parseNumber32(v, b)
				if !ok || v[e] != ',' {
					break // an error, or the last number: left to the loop below
				}
				binary.LittleEndian.PutUint32(raw[ob:ob+4], math.Float32bits(f))
				b, ob = e+1, ob+4
			} else {
				break
			}
		}
		pos[0], pos[1], at[0], at[1] = a, b, oa, ob
	}
	for l := range m {
		for i := pos[l]; i <= stop[l]; {
			f, e, ok := parseNumber32(v, i)
			if !ok || e != stop[l] && v[e] != ',' {
				return 0, false
			}
			binary.LittleEndian.PutUint32(raw[at[l]:], math.Float32bits(f))
			at[l] += 4
			i = e + 1
		}
	}
	if m == 1 {
		return at[0] / 4, true
	}
	// Lane b's numbers, placed by a bound, move down to just after lane a's.
	if at[0] != ln.at[1] {
		copy(raw[at[0]:], raw[ln.at[1]:at[1]])
	}
	return (at[0] + at[1] - ln.at[1]) / 4, true
}

// shortZeroDot32 reads the shorter number the lanes' turns leave (2% of Gemini's numbers),
// -?0.<1 to 7 digits> and a comma, from the 32 bytes at v[i], which v must hold: its float32
// bits and the index just past the comma, or false for any other text. Its n digits d, read as
// eight with zeros after them, are d * 10^(8-n), and D = d * 10^(12-n) is rounded to float32
// as in compactFloat32s' turns (the argument there holds for any D below 10^12).
func shortZeroDot32(v []byte, i int) (bits32 uint32, end int, ok bool) {
	s := (*[32]byte)(v[i : i+32])
	sign := 0
	if s[0] == '-' {
		sign = 1
	}
	t0 := binary.LittleEndian.Uint64(s[sign+2:]) ^ asciiZero
	n := bits.TrailingZeros64((t0+0x76*everyByte|t0)&(0x80*everyByte)) >> 3 // the digits; 8: eight or more
	if n == 0 || n == 8 || binary.LittleEndian.Uint16(s[sign:]) != zeroDot || s[sign+2+n] != ',' {
		return 0, i, false
	}
	return math.Float32bits(e12Float32(eightDigits(t0&lowBytes[n])*1e4, sign)), i + sign + 3 + n, true
}

// spacedFloat32s is compactFloat32s for a vector with white space around its numbers, one
// number after the other; it reports whether v is a JSON array of exactly len(raw)/4 numbers.
func spacedFloat32s(v, raw []byte) bool {
	for i, j := 1, 0; ; j += 4 {
		f, e, ok := parseNumber32(v, skipSpace(v, i))
		if !ok || j+4 > len(raw) {
			return false
		}
		binary.LittleEndian.PutUint32(raw[j:], math.Float32bits(f))
		if e = skipSpace(v, e); e == len(v)-1 {
			return j+4 == len(raw)
		}
		if v[e] != ',' {
			return false
		}
		i = e + 1
	}
}

// encodeBase64At writes over out the standard base64 of the n float32s, 4n bytes, at out[r:].
// With r at least 4 per block of twelve bytes, block j's sixteen characters end at 16j+16, at
// or before r+12j+12 where the next block's bytes start, and the block's own bytes are loaded
// before its characters are stored: nothing is written over bytes still to be read.
func encodeBase64At(out []byte, r, n int) {
	t := &base64Pairs
	o := 0
	for ; n >= 3; n -= 3 {
		// Twelve bytes, the first eight read big-endian as hi and the last four as lo: eight
		// 12-bit pieces of two characters each.
		s := (*[12]byte)(out[r : r+12])
		hi, lo := binary.BigEndian.Uint64(s[0:8]), uint64(binary.BigEndian.Uint32(s[8:12]))
		d := (*[16]byte)(out[o : o+16])
		binary.LittleEndian.PutUint64(d[0:8], uint64(t[hi>>52])|uint64(t[hi>>40&0xFFF])<<16|uint64(t[hi>>28&0xFFF])<<32|uint64(t[hi>>16&0xFFF])<<48)
		binary.LittleEndian.PutUint64(d[8:16], uint64(t[hi>>4&0xFFF])|uint64(t[(hi<<8|lo>>24)&0xFFF])<<16|uint64(t[lo>>12&0xFFF])<<32|uint64(t[lo&0xFFF])<<48)
		r, o = r+12, o+16
	}
	if n > 0 { // one or two float32s, padded
		var b [8]byte
		copy(b[:], out[r:r+4*n])
		base64.StdEncoding.Encode(out[o:], b[:4*n])
	}
}

// base64Pairs holds, for each 12-bit value, its two standard base64 characters (RFC 4648,
// encoding/base64.StdEncoding's alphabet), the first in the low byte.
var base64Pairs = func() (t [4096]uint16) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := range t {
		t[i] = uint16(alphabet[i>>6]) | uint16(alphabet[i&63])<<8
	}
	return t
}()

// zeroDot32 reads the common number of an embedding, -?0.<1 to 15 digits>, from the 24 bytes at
// v[i], which v must hold: its float32 bits, the index just past it, and false when the number
// is not of that form, is followed by an exponent, or falls where rounding it twice could
// differ from rounding it once (parseNumber32 then reads it).
//
// Its k digits d are read as sixteen, the k and zeros after them: D = d * 10^(16-k) below
// 10^16, and even, so D/2 < 2^53 and D is exact in a float64, as is 10^16; D / 10^16, one
// division, is d / 10^k rounded once to float64. The float64 is then rounded to float32, which
// differs from rounding d / 10^k once only where it lands exactly halfway between two float32s
// (a float32 midpoint is a float64, so the exact value and its float64 are on the same side of
// every other midpoint): that case is refused. The value is at least 10^-15, far from float32's
// subnormals.
func zeroDot32(v []byte, i int) (bits32 uint32, end int, ok bool) {
	s := (*[24]byte)(v[i:])
	sign := 0
	if s[0] == '-' {
		sign = 1
	}
	// The two words after the sign and "0.", loaded where they start rather than shifted there.
	ok = binary.LittleEndian.Uint16(s[sign:]) == zeroDot
	f0, f1 := binary.LittleEndian.Uint64(s[sign+2:]), binary.LittleEndian.Uint64(s[sign+10:])
	n0 := bits.TrailingZeros64(nonDigits(f0)) >> 3 // the digits in f0; 8: all
	n1 := bits.TrailingZeros64(nonDigits(f1)) >> 3 & -(n0 >> 3)
	k := n0 + n1
	// The digits' bytes are kept, those after them cleared: zeros at the end.
	hi := eightDigits((f0 ^ asciiZero) & (^uint64(0) >> (uint(64-8*n0) & 63)))
	lo := eightDigits((f1 ^ asciiZero) & (1<<(uint(8*n1)&63) - 1))
	x := float64(int64(hi*1e8+lo)) / 1e16
	end = i + sign + 2 + k
	const halfway = 1 << 28 // float64 significand bits below float32's: exactly one half
	ok = ok && uint(k-1) < 15 && math.Float64bits(x)&(1<<29-1) != halfway
	return math.Float32bits(float32(x)) | uint32(sign)<<31, end, ok
}

// pow10 are the powers of ten a float64 holds exactly.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// pow10u are the powers of ten up to 10^8 as integers.
var pow10u = [...]uint64{1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000}

// maxDigits is the most decimal digits a uint64 significand is accumulated from: 10^19 - 1 fits.
const maxDigits = 19

// parseNumber32 checks the JSON number that starts at v[i] and returns it rounded once to the
// nearest float32, as strconv.ParseFloat(s, 32) does, with the index just past it; ok is false
// when there is no number there or it is beyond float32's range.
//
// The digits are gathered into an integer significand m (value m * 10^exp) eight at a time. The
// common case, m below 2^53 and a power of ten within 1e±22, is worked out in float64: m and
// the power are exact there, so one multiplication or division rounds the value once to
// float64. Rounding that to float32 rounds twice, which differs from rounding once only when
// the float64 lands exactly halfway between two float32s (a float32 midpoint is a float64, so
// the exact value and its float64 are on the same side of every other midpoint); that case,
// subnormal or huge results and longer significands go to strconv.
func parseNumber32(v []byte, i int) (f float32, end int, ok bool) {
	if i+24 <= len(v) {
		if x, end, ok := zeroDot32(v, i); ok && v[end]|0x20 != 'e' {
			return math.Float32frombits(x), end, true
		}
	}
	start := i
	neg := i < len(v) && v[i] == '-'
	if neg {
		i++
	}
	if i >= len(v) {
		return 0, i, false
	}
	var m uint64
	nd := 0 // digits gathered into m, leading zeros included; more than maxDigits: m is not exact
	switch c := v[i]; {
	case c == '0':
		i++
	case c-'1' < 9:
		j := digitsEnd(v, i)
		m, nd = gatherDigits(v, i, j, 0, 0)
		i = j
	default:
		return 0, i, false
	}
	exp := 0
	if i < len(v) && v[i] == '.' {
		j := digitsEnd(v, i+1)
		if j == i+1 {
			return 0, j, false
		}
		m, nd = gatherDigits(v, i+1, j, m, nd)
		exp = i + 1 - j
		i = j
	}
	if i < len(v) && v[i]|0x20 == 'e' {
		i++
		eneg := false
		if i < len(v) && (v[i] == '+' || v[i] == '-') {
			eneg = v[i] == '-'
			i++
		}
		j := digitsEnd(v, i)
		if j == i {
			return 0, j, false
		}
		e := 0
		for _, c := range v[i:j] {
			if e < 10000 {
				e = e*10 + int(c-'0')
			}
		}
		if eneg {
			e = -e
		}
		exp += e
		i = j
	}
	if nd <= maxDigits {
		if m == 0 {
			if neg {
				return float32(math.Copysign(0, -1)), i, true
			}
			return 0, i, true
		}
		if m < 1<<53 && exp >= -22 && exp <= 22 {
			x := float64(m)
			if exp < 0 {
				x /= pow10[-exp]
			} else {
				x *= pow10[exp]
			}
			const halfway = 1 << 28 // float64 significand bits below float32's: exactly one half
			if x >= 0x1p-126 && x <= math.MaxFloat32 && math.Float64bits(x)&(1<<29-1) != halfway {
				if neg {
					x = -x
				}
				return float32(x), i, true
			}
		}
	}
	x, err := strconv.ParseFloat(string(v[start:i]), 32)
	return float32(x), i, err == nil
}

// gatherDigits appends the digits v[i:j] to the significand m of nd digits. Past maxDigits it
// only counts them: the caller then leaves the number to strconv.
func gatherDigits(v []byte, i, j int, m uint64, nd int) (uint64, int) {
	if nd+j-i > maxDigits {
		return m, nd + j - i
	}
	nd += j - i
	for ; j-i >= 8; i += 8 {
		m = m*1e8 + eightDigits(binary.LittleEndian.Uint64(v[i:])-asciiZero)
	}
	if k := j - i; k > 0 {
		if i+8 <= len(v) {
			// The k digits and what follows them, in one word: keep the digits' bytes and move them
			// to the top, so that the bytes below read as leading zeros.
			w := (binary.LittleEndian.Uint64(v[i:]) - asciiZero) << (64 - 8*k)
			m = m*pow10u[k] + eightDigits(w)
		} else {
			for _, c := range v[i:j] {
				m = m*10 + uint64(c-'0')
			}
		}
	}
	return m, nd
}

// eightDigits returns the number written by eight digit values (0 to 9, one a byte, the first
// digit in the lowest byte): pairs, then fours, then all eight are combined with one
// multiplication each.
func eightDigits(w uint64) uint64 {
	w = (w * (10<<8 + 1)) >> 8 & 0x00FF00FF00FF00FF
	w = (w * (100<<16 + 1)) >> 16 & 0x0000FFFF0000FFFF
	return (w * (10000<<32 + 1)) >> 32
}

// fourDigits returns the number written by the four digit values (0 to 9, one a byte, the first
// digit in the lowest byte) in the low half of w; the high half must be zero.
func fourDigits(w uint64) uint64 {
	w = (w * (10<<8 + 1)) >> 8 & 0x00FF00FF
	return (w * (100<<16 + 1)) >> 16 & 0xFFFF
}

// e12Float32 returns D / 10^12, D below 10^12, rounded once to float32 and with the sign of a
// number (0: +, 1: -), as D * 10^-12 in float64 rounded to float32 (see compactFloat32s).
func e12Float32(d uint64, sign int) float32 {
	return float32(float64(int64(d)) * signedEm12[sign])
}

// signedEm12 multiplies by 10^-12 (the float64 nearest it) and gives the product the sign of a
// number (0: +, 1: -): rounding to nearest is symmetric, so the product is the positive one
// negated, -0 for 0.
var signedEm12 = [2]float64{1e-12, -1e-12}

// lowBytes32[n] keeps the low n bytes of a 32-bit word.
var lowBytes32 = [5]uint32{0, 0xFF, 0xFFFF, 0xFFFFFF, 0xFFFFFFFF}

// lowBytes[n] keeps the low n bytes of a word.
var lowBytes = [9]uint64{0, 0xFF, 0xFFFF, 0xFFFFFF, 0xFFFFFFFF, 1<<40 - 1, 1<<48 - 1, 1<<56 - 1, 1<<64 - 1}
