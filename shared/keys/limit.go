package keys

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// limiter holds a token bucket (golang.org/x/time/rate) per key name: capacity rpm, refilled at
// rpm per minute. It holds a bucket only for names in the store's current set (see retain), so
// its memory is bounded.
type limiter struct {
	mu      sync.Mutex
	buckets map[string]*rate.Limiter
}

func newLimiter() *limiter { return &limiter{buckets: map[string]*rate.Limiter{}} }

// allow takes a token from name's bucket, or reports how long until one is there. current
// reports whether name is in the store's current set: a request authenticated against a set
// that has since been replaced without its key is let through without creating a bucket,
// which would otherwise outlive the key. A key whose rpm changed keeps its bucket at the new
// rate.
func (l *limiter) allow(name string, rpm int, now time.Time, current func(string) bool) (bool, time.Duration) {
	every := rate.Limit(float64(rpm) / time.Minute.Seconds())
	l.mu.Lock()
	b := l.buckets[name]
	switch {
	case b == nil && !current(name):
		l.mu.Unlock()
		return true, 0
	case b == nil:
		b = rate.NewLimiter(every, rpm)
		l.buckets[name] = b
	case b.Burst() != rpm:
		b.SetLimitAt(now, every)
		b.SetBurstAt(now, rpm)
	}
	l.mu.Unlock()
	r := b.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		// Rounded up to the millisecond, so that a request made exactly that much later finds
		// a whole token despite float rounding in the bucket.
		return false, d.Truncate(time.Millisecond) + time.Millisecond
	}
	return true, 0
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
