package keys

import (
	"math"
	"sync"
	"time"
)

// limiter is a token bucket per key name: capacity rpm, refilled at rpm per minute. It holds a
// bucket only for names in the store's current set (see retain), so its memory is bounded.
type limiter struct {
	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newLimiter() *limiter { return &limiter{buckets: map[string]*bucket{}} }

// allow takes a token from name's bucket. current reports whether name is in the store's
// current set: a request authenticated against a set that has since been replaced without its
// key is let through without creating a bucket, which would otherwise outlive the key.
func (l *limiter) allow(name string, rpm int, now time.Time, current func(string) bool) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[name]
	if b == nil {
		if !current(name) {
			return true, 0
		}
		b = &bucket{tokens: float64(rpm), last: now}
		l.buckets[name] = b
	}
	rate := float64(rpm) / float64(time.Minute)
	if now.After(b.last) {
		b.tokens += float64(now.Sub(b.last)) * rate
		b.last = now
	}
	if b.tokens > float64(rpm) {
		b.tokens = float64(rpm)
	}
	// The epsilon absorbs float rounding, so a request made exactly retryAfter later passes.
	if b.tokens >= 1-1e-9 {
		b.tokens = max(b.tokens-1, 0)
		return true, 0
	}
	return false, time.Duration(math.Ceil((1 - b.tokens) / rate))
}

// retain drops the buckets of names keep rejects.
func (l *limiter) retain(keep func(string) bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for name := range l.buckets {
		if !keep(name) {
			delete(l.buckets, name)
		}
	}
}

// len returns the number of buckets held.
func (l *limiter) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}
