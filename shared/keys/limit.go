package keys

import (
	"sync"
	"time"
)

// limiter is a token bucket per key name: capacity rpm, refilled at rpm per minute.
type limiter struct {
	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newLimiter() *limiter { return &limiter{buckets: map[string]*bucket{}} }

func (l *limiter) allow(name string, rpm int, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[name]
	if b == nil {
		b = &bucket{tokens: float64(rpm), last: now}
		l.buckets[name] = b
	}
	rate := float64(rpm) / float64(time.Minute)
	b.tokens += float64(now.Sub(b.last)) * rate
	if b.tokens > float64(rpm) {
		b.tokens = float64(rpm)
	}
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	wait := time.Duration((1 - b.tokens) / rate)
	return false, wait
}
