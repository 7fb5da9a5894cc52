package translate

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"strings"
	"testing"
)

// laneEdgeForms are numbers at the edges of the lanes' common form (-?0. and 8 to 12 digits
// for base64, 8 to 15 for float, then a comma) and just outside it: fewer or more digits,
// other integer parts, a sign alone, exponents, a fraction run into a bracket.
var laneEdgeForms = []string{
	"0.1", "-0.1", "0.1234567", "-0.1234567", "0.12345678", "-0.12345678", "0.123456789", "-0.000000001",
	"0.1234567890", "0.12345678901", "-0.123456789012", "0.1234567890123", "-0.12345678901234",
	"0.123456789012345", "-0.1234567890123456", "0.12345678901234567", "0.00000000000000000000001",
	"0.99999999", "0.999999999999", "-0.999999999999999", "0.00000000", "-0.000000000000",
	"10.12345678", "-10.12345678", "1.12345678", "-1.123456789012", "00.12345678", "0.12345678e5",
	"-0.12345678E-5", "0.123456789012e+1", "0", "-0", "7", "123456789", "1e-7", "-2.5E+3",
	"3.4028235e38", "0.1234567890123456789012345678901234567890",
	// Each byte off "0." by bits that a comma's also has: the tests must not be xored together.
	"4.12345678", "-8.00000000", "8.000000000000", "0,12345678", "0.1234,678", "0$12345678", "-0(12345678",
}

// TestVectorLanesEdgeForms checks long vectors, cut into lanes, made of the common form with
// one edge form at each place in turn: first, last, at either side of the cut, and at each
// place a lane may stop its turns; each vector also with a byte of the edge form changed.
// Both encoders must read them as encoding/json and strconv do (checkVector).
func TestVectorLanesEdgeForms(t *testing.T) {
	common := []string{"-0.0123456789", "0.035157016", "-0.07337856", "0.0023262701", "0.12345678", "-0.000123456789"}
	for _, n := range []int{11, 12, 13, 23, 24, 25, 40} {
		for _, form := range laneEdgeForms {
			for at := range n {
				nums := make([]string, n)
				for i := range nums {
					nums[i] = common[(i+at)%len(common)]
				}
				nums[at] = form
				v := []byte("[" + strings.Join(nums, ",") + "]")
				checkVector(t, v)
				checkBase64Roomy(t, v)
				if at%5 == 0 {
					w := bytes.Clone(v)
					w[len(w)/2] = "0-.,e]"[at%6]
					checkVector(t, w)
					checkBase64Roomy(t, w)
				}
			}
		}
	}
}

// TestBase64LanesNearHalfway pins the base64 lanes' single rounding where double rounding
// would go wrong if it could: the decimals of 8 to 12 digits just below and just above the
// midpoints between float32s in (2^-14, 1), each as strconv rounds it, in long vectors at each
// lane's place. (float32Turns shows why no such decimal's float64 is a midpoint.)
func TestBase64LanesNearHalfway(t *testing.T) {
	seed := uint64(11)
	next := func() uint64 { seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17; return seed }
	nums := make([]string, 30)
	for i := range nums {
		nums[i] = "0.035157016"
	}
	for range 3000 {
		f := math.Float32frombits(uint32(next()%(0x3F800000-0x38800000)) + 0x38800000)
		mid := (float64(f) + float64(math.Nextafter32(f, 1))) / 2
		for k := 8; k <= 12; k++ {
			below := math.Floor(mid * math.Pow10(k))
			for _, d := range []float64{below, below + 1} {
				s := strconv.FormatFloat(d/math.Pow10(k), 'f', k, 64)
				if next()%2 == 0 {
					s = "-" + s
				}
				want, _ := strconv.ParseFloat(s, 32)
				at := []int{0, 9, 14, 15, 16, 29}[next()%6]
				nums[at] = s
				v := []byte("[" + strings.Join(nums, ",") + "]")
				out, err := appendBase64Vector(nil, v)
				if err != nil {
					t.Fatalf("%s: %v", s, err)
				}
				checkBase64Roomy(t, v)
				raw, err := base64.StdEncoding.DecodeString(string(bytes.Trim(out, `"`)))
				if err != nil {
					t.Fatal(err)
				}
				if got := binary.LittleEndian.Uint32(raw[4*at:]); got != math.Float32bits(float32(want)) {
					t.Fatalf("%s at %d: %#x, strconv %#x", s, at, got, math.Float32bits(float32(want)))
				}
				nums[at] = "0.035157016"
			}
		}
	}
}

// FuzzVectorLanes: the fuzzed text, as one number or as several split at its commas, placed at
// each of a few places of a vector long enough to be cut into lanes, is read by both encoders
// as encoding/json and strconv read it (checkVector). FuzzVectorEncoding's inputs are seldom
// long enough for the lanes.
func FuzzVectorLanes(f *testing.F) {
	for _, s := range laneEdgeForms {
		f.Add(s)
	}
	f.Add("0.1,-0.22,0.333e3")
	f.Add("0.12345678,,0.1")
	f.Add("0.12345678 ,0.1")
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 200 {
			return
		}
		for n := 12; n <= 26; n += 7 {
			for _, at := range []int{0, n / 2, n - 1} {
				nums := make([]string, n)
				for i := range nums {
					nums[i] = "-0.0123456789"
				}
				nums[at] = s
				v := []byte("[" + strings.Join(nums, ",") + "]")
				checkVector(t, v)
				checkBase64Roomy(t, v)
			}
		}
	})
}

// checkBase64Roomy checks that appendBase64Vector gives the same answer, or the same error,
// whether dst has the room to place the numbers by a bound on their count (after a few bytes
// already there, which it must keep) or not (nil, where they are counted first).
func checkBase64Roomy(t *testing.T, v []byte) {
	t.Helper()
	want, wantErr := appendBase64Vector(nil, v)
	dst := append(make([]byte, 0, 5+3*len(v)+16), "head:"...)
	got, err := appendBase64Vector(dst, v)
	if (err != nil) != (wantErr != nil) || string(got[:5]) != "head:" || !bytes.Equal(got[5:], want) {
		t.Fatalf("appendBase64Vector(%q) with room = %q, %v; without = %q, %v", v, got, err, want, wantErr)
	}
	if &got[0] != &dst[:1][0] {
		t.Fatalf("appendBase64Vector(%q) grew a buffer with room", v)
	}
}

// TestBase64RoundingAllMidpoints pins e12Float32, the base64 lanes' rounding of D / 10^12 (D
// the digits of a decimal of at most 12 below one, as twelve) by a multiplication by 10^-12
// in float64, where it could go wrong if anywhere: at the two decimals of twelve digits nearest
// each float32 midpoint. For every midpoint M of binades [2^-p, 2^(1-p)), p ≤ 16, where float32s
// are at least 10^-12 apart, D = ⌊M * 10^12⌋ must give the float32 below M and D+1 the one
// above; every midpoint of [1/16, 1) is checked (of [1/2, 1) with -short), a sample of the
// others and of the smaller binades down to 10^-12, those against strconv. By monotony, the
// midpoints' neighbours checked, every D of the binade is rounded right.
func TestBase64RoundingAllMidpoints(t *testing.T) {
	full := 4
	if testing.Short() {
		full = 1
	}
	seed := uint64(5)
	next := func() uint64 { seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17; return seed }
	// below returns ⌊(2f+1) * 10^12 / 2^(p+24)⌋, M = (2f+1) * 2^-(p+24) the midpoint above the
	// float32 f * 2^-(p+23).
	below := func(f uint64, p uint) uint64 {
		hi, lo := bits.Mul64(2*f+1, 1e12)
		return hi<<(64-(p+24)) | lo>>(p+24)
	}
	for p := uint(1); p <= 40; p++ {
		check := func(f uint64) {
			d := below(f, p)
			if p <= 16 {
				lo, hi := float32(math.Ldexp(float64(f), -int(p+23))), float32(math.Ldexp(float64(f+1), -int(p+23)))
				if got := e12Float32(d, 0); got != lo {
					t.Fatalf("p=%d f=%d: %d/10^12 gave %g, want %g", p, f, d, got, lo)
				}
				if got := e12Float32(d+1, 1); got != -hi {
					t.Fatalf("p=%d f=%d: -%d/10^12 gave %g, want %g", p, f, d+1, got, -hi)
				}
				if next()%64 != 0 {
					return
				}
			}
			for _, d := range []uint64{d, d + 1} {
				s := fmt.Sprintf("0.%012d", d)
				want, err := strconv.ParseFloat(s, 32)
				if err != nil {
					t.Fatal(err)
				}
				if got := e12Float32(d, 0); got != float32(want) {
					t.Fatalf("%s: %g, strconv %g", s, got, want)
				}
			}
		}
		if p <= uint(full) {
			for f := uint64(1 << 23); f < 1<<24; f++ {
				check(f)
			}
			continue
		}
		for range 1 << 12 {
			check(1<<23 + next()%(1<<23))
		}
	}
}
