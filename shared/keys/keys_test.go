package keys

import (
	"crypto/sha256"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func testSet(n int) (*Set, []string) {
	ks := make([]*Key, n)
	raws := make([]string, n)
	for i := range ks {
		raws[i] = fmt.Sprintf("gk-test-key-%04d", i)
		ks[i] = &Key{Name: fmt.Sprintf("k%d", i), Hash: sha256.Sum256([]byte(raws[i]))}
	}
	return NewSet(ks), raws
}

// TestLookupComparesEveryKey pins the constant-time property that matters for a key set:
// Lookup compares against every entry, whether the match is first, last or absent, so timing
// does not reveal where (or whether) a key sits in the set.
func TestLookupComparesEveryKey(t *testing.T) {
	set, raws := testSet(5)
	st := NewStore(set)
	calls := 0
	compared = func() { calls++ }
	t.Cleanup(func() { compared = nil })

	for _, raw := range []string{raws[0], raws[4], "gk-not-a-key-at-all"} {
		calls = 0
		st.Lookup(raw)
		if calls != 5 {
			t.Errorf("Lookup(%.12s…) made %d comparisons, want 5", raw, calls)
		}
	}
}

// TestLookup pins which keys authenticate: enabled ones by exact key only.
func TestLookup(t *testing.T) {
	set, raws := testSet(3)
	set.keys[1].Disabled = true
	st := NewStore(set)
	for _, tc := range []struct {
		raw  string
		want string
	}{
		{raws[0], "k0"},
		{raws[2], "k2"},
		{raws[1], ""},                  // disabled
		{raws[0] + " ", ""},            // not trimmed
		{raws[0][:len(raws[0])-1], ""}, // prefix
		{"", ""},
	} {
		k, ok := st.Lookup(tc.raw)
		got := ""
		if ok {
			got = k.Name
		}
		if got != tc.want {
			t.Errorf("Lookup(%q) = %q, want %q", tc.raw, got, tc.want)
		}
	}
}

// TestAllowRateLimit pins the 429 semantics: RPM requests pass at once, the next is refused
// with a positive Retry-After, and after that wait one more passes.
func TestAllowRateLimit(t *testing.T) {
	k := &Key{Name: "a", Hash: sha256.Sum256([]byte("gk-aaaaaaaa")), RPM: 3}
	st := NewStore(NewSet([]*Key{k}))
	now := time.Unix(1_800_000_000, 0)
	for i := range 3 {
		if ok, _ := st.Allow(k, now); !ok {
			t.Fatalf("request %d refused", i+1)
		}
	}
	ok, retry := st.Allow(k, now)
	if ok || retry <= 0 {
		t.Fatalf("4th request: Allow = %v, %v; want false and a positive retryAfter", ok, retry)
	}
	if retry > 20*time.Second+time.Millisecond {
		t.Errorf("retryAfter = %v, want about 20s (one token at 3/min)", retry)
	}
	if ok, _ := st.Allow(k, now.Add(retry-time.Second)); ok {
		t.Error("allowed before retryAfter elapsed")
	}
	if ok, _ := st.Allow(k, now.Add(retry)); !ok {
		t.Error("refused after retryAfter elapsed")
	}
	// A clock that steps back (requests racing with slightly older times) does not mint tokens.
	if ok, _ := st.Allow(k, now); ok {
		t.Error("allowed with a stale time")
	}

	unlimited := &Key{Name: "u"}
	for range 1000 {
		if ok, _ := st.Allow(unlimited, now); !ok {
			t.Fatal("RPM 0 must be unlimited")
		}
	}
}

// TestReplaceDropsBuckets pins the limiter's memory bound: buckets of keys no longer in the
// set go on Replace, and a request still holding a removed key does not bring one back.
func TestReplaceDropsBuckets(t *testing.T) {
	a := &Key{Name: "a", RPM: 10}
	b := &Key{Name: "b", RPM: 10}
	st := NewStore(NewSet([]*Key{a, b}))
	now := time.Now()
	st.Allow(a, now)
	st.Allow(b, now)
	if n := st.limiter.len(); n != 2 {
		t.Fatalf("buckets = %d, want 2", n)
	}
	st.Replace(NewSet([]*Key{{Name: "a", RPM: 10}}))
	if n := st.limiter.len(); n != 1 {
		t.Fatalf("after Replace buckets = %d, want 1", n)
	}
	if ok, _ := st.Allow(b, now); !ok {
		t.Error("in-flight request with a removed key refused")
	}
	if n := st.limiter.len(); n != 1 {
		t.Errorf("a removed key recreated its bucket: %d buckets", n)
	}
	// The bucket of a key that stays keeps its count across Replace.
	for range 9 {
		st.Allow(a, now)
	}
	st.Replace(NewSet([]*Key{{Name: "a", RPM: 10}}))
	if ok, _ := st.Allow(a, now); ok {
		t.Error("Replace reset the bucket of a key that stayed")
	}
}

func TestParseList(t *testing.T) {
	for _, tc := range []struct {
		in      string
		names   []string
		wantErr string
	}{
		{in: "alice:gk-aaaaaaaa, gk-bbbbbbbb", names: []string{"alice", "key-2"}},
		{in: "a:short", wantErr: `key "a" is shorter than 8 characters`},
		{in: "a:gk-aaaaaaaa,a:gk-bbbbbbbb", wantErr: `key name "a" is used twice`},
		{in: " , ", wantErr: "holds no key"},
	} {
		s, err := ParseList(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParseList(%q) error = %v, want %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("ParseList(%q): %v", tc.in, err)
		}
		var names []string
		for _, k := range s.keys {
			names = append(names, k.Name)
		}
		if fmt.Sprint(names) != fmt.Sprint(tc.names) {
			t.Errorf("ParseList(%q) names = %v, want %v", tc.in, names, tc.names)
		}
	}
}

// BenchmarkLookup measures Lookup for a key at the start, at the end and absent; the three
// should take the same time for a given set size.
func BenchmarkLookup(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		set, raws := testSet(n)
		st := NewStore(set)
		for _, c := range []struct{ name, raw string }{
			{"first", raws[0]}, {"last", raws[n-1]}, {"miss", "gk-not-a-key-at-all-xxxxxx"},
		} {
			b.Run(fmt.Sprintf("keys=%d/%s", n, c.name), func(b *testing.B) {
				for b.Loop() {
					st.Lookup(c.raw)
				}
			})
		}
	}
}
