// Package keys authenticates client API keys. Keys are held only as SHA-256 hashes and compared
// in constant time; a key set can be replaced atomically while requests are served.
//
// Keys come from one of three sources (see [Config]): GATEWAY_API_KEYS (raw keys, for local use),
// a key document in a file, or the same document in a Secret Manager secret version, which
// [Load] re-reads on an interval so that new keys work and revoked ones stop without a restart.
// The document holds the SHA-256 of each key, never the key; scripts/keytool writes it.
package keys

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"
)

// Key is one client key's entry: its name (logged instead of the key), hash and limits.
type Key struct {
	Name     string
	Hash     [sha256.Size]byte
	Models   []string // allowed models; empty allows all
	RPM      int      // requests per minute; 0 is unlimited
	Disabled bool
}

// AllowsModel reports whether the key may use model (the name the client sent or the upstream id).
func (k *Key) AllowsModel(names ...string) bool {
	if len(k.Models) == 0 {
		return true
	}
	for _, n := range names {
		if slices.Contains(k.Models, n) {
			return true
		}
	}
	return false
}

// Set is an immutable set of keys.
type Set struct {
	keys  []*Key
	names map[string]struct{}
}

// NewSet returns a set of the given keys.
func NewSet(ks []*Key) *Set {
	names := make(map[string]struct{}, len(ks))
	for _, k := range ks {
		names[k.Name] = struct{}{}
	}
	return &Set{keys: ks, names: names}
}

// ParseList builds a set from GATEWAY_API_KEYS: comma-separated keys, each optionally
// "name:key". Unnamed keys are named key-1, key-2… by position.
func ParseList(list string) (*Set, error) {
	var ks []*Key
	seen := map[string]bool{}
	for i, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		name, raw, ok := strings.Cut(item, ":")
		if !ok {
			name, raw = fmt.Sprintf("key-%d", i+1), item
		}
		if len(raw) < 8 {
			return nil, fmt.Errorf("GATEWAY_API_KEYS: key %q is shorter than 8 characters", name)
		}
		if seen[name] {
			return nil, fmt.Errorf("GATEWAY_API_KEYS: key name %q is used twice", name)
		}
		seen[name] = true
		ks = append(ks, &Key{Name: name, Hash: sha256.Sum256([]byte(raw))})
	}
	if len(ks) == 0 {
		return nil, fmt.Errorf("GATEWAY_API_KEYS holds no key")
	}
	return NewSet(ks), nil
}

// Len returns the number of keys.
func (s *Set) Len() int { return len(s.keys) }

// has reports whether the set holds a key named name.
func (s *Set) has(name string) bool {
	_, ok := s.names[name]
	return ok
}

// compared, when set (by tests only), is called at each comparison, to count them. A hook rather
// than a swappable compare function keeps the hashes on the stack: a function value's arguments
// escape.
var compared func()

// lookup compares the hash of raw against every key in constant time and never stops early, so
// timing reveals neither which key matched, nor where it sits in the set, nor how much of it
// matched. Hashing first makes every comparison the same length whatever the client sent.
func (s *Set) lookup(raw string) (*Key, bool) {
	var h [sha256.Size]byte
	var buf [128]byte
	if len(raw) <= len(buf) { // the usual key, hashed from a copy on the stack
		h = sha256.Sum256(append(buf[:0], raw...))
	} else {
		h = sha256.Sum256([]byte(raw))
	}
	var found *Key
	for _, k := range s.keys {
		if compared != nil {
			compared()
		}
		if subtle.ConstantTimeCompare(h[:], k.Hash[:]) == 1 {
			found = k
		}
	}
	if found == nil || found.Disabled {
		return nil, false
	}
	return found, true
}

// Store holds the current key set and the per-key rate limiters.
//
// The rate limit is per instance. Each Cloud Functions or Lambda instance keeps its own token
// buckets in memory, so a key with RPM r can make up to r × (running instances) requests a
// minute in total. Cloud Functions gen2 runs up to max_instance_count instances (100 unless set;
// our Terraform exposes max_instances), each serving up to max_instance_request_concurrency
// requests; Lambda runs one request per execution environment and scales to the account's
// concurrency limit (1000 by default), capped by reserved concurrency when set. Bound the
// instance count to bound the total, or treat RPM as a per-instance burst guard; a global
// limit would need a shared store, which the gateway deliberately does not have.
type Store struct {
	set     atomic.Pointer[Set]
	limiter *limiter
}

// NewStore returns a store serving s.
func NewStore(s *Set) *Store {
	st := &Store{limiter: newLimiter()}
	st.set.Store(s)
	return st
}

// Replace swaps in a new key set; requests in flight keep the set they started with. The rate
// buckets of keys whose names left the set are dropped, so the limiter's memory is bounded by
// the size of the current set.
func (st *Store) Replace(s *Set) {
	st.set.Store(s)
	st.limiter.retain(s.has)
}

// Lookup returns the enabled key whose hash matches raw.
func (st *Store) Lookup(raw string) (*Key, bool) { return st.set.Load().lookup(raw) }

// Allow counts a request against k's per-minute limit (a token bucket of k.RPM tokens refilled
// at k.RPM a minute, keyed by k.Name). When the limit is reached it returns false and how long
// until the next request would be allowed (the gateway's 429 and Retry-After). The limit is per
// instance; see [Store].
func (st *Store) Allow(k *Key, now time.Time) (bool, time.Duration) {
	if k.RPM <= 0 {
		return true, 0
	}
	return st.limiter.allow(k.Name, k.RPM, now, st.current)
}

// current reports whether the current set holds a key named name.
func (st *Store) current(name string) bool { return st.set.Load().has(name) }
