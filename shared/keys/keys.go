// Package keys authenticates client API keys. Keys are held only as SHA-256 hashes and compared
// in constant time; a key set can be replaced atomically while requests are served.
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
	keys []*Key
}

// NewSet returns a set of the given keys.
func NewSet(ks []*Key) *Set { return &Set{keys: ks} }

// ParseList builds a set from GATEWAY_API_KEYS: comma-separated keys, each optionally
// "name:key". Unnamed keys are named key-1, key-2… by position.
func ParseList(list string) (*Set, error) {
	var ks []*Key
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
		ks = append(ks, &Key{Name: name, Hash: sha256.Sum256([]byte(raw))})
	}
	if len(ks) == 0 {
		return nil, fmt.Errorf("GATEWAY_API_KEYS holds no key")
	}
	return NewSet(ks), nil
}

// Len returns the number of keys.
func (s *Set) Len() int { return len(s.keys) }

// lookup compares the hash of raw against every key in constant time, so timing reveals neither
// which key matched nor how much of it.
func (s *Set) lookup(raw string) (*Key, bool) {
	h := sha256.Sum256([]byte(raw))
	var found *Key
	for _, k := range s.keys {
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

// Replace swaps in a new key set; requests in flight keep the set they started with.
func (st *Store) Replace(s *Set) { st.set.Store(s) }

// Lookup returns the enabled key whose hash matches raw.
func (st *Store) Lookup(raw string) (*Key, bool) { return st.set.Load().lookup(raw) }

// Allow counts a request against k's per-minute limit. When the limit is reached it returns
// false and how long until the next request would be allowed. The limit is per instance.
func (st *Store) Allow(k *Key, now time.Time) (bool, time.Duration) {
	if k.RPM <= 0 {
		return true, 0
	}
	return st.limiter.allow(k.Name, k.RPM, now)
}
