package translate

import (
	"context"
	"errors"
	"testing"

	"github.com/geminigateway/gateway/shared/gemini"
)

// doneAfter is a context that reports itself done from its n-th Err call on, and counts the
// calls: a deterministic stand-in for a client that goes away mid-translation.
type doneAfter struct {
	context.Context
	n, calls int
}

func (c *doneAfter) Err() error {
	c.calls++
	if c.calls >= c.n {
		return context.Canceled
	}
	return nil
}

// TestTranslationStopsWhenContextDone pins issue 12's cancellation: a request of many messages
// whose context ends mid-way returns the context's error at the first check that sees it,
// without translating the rest (the count of checks shows no further message was looked at).
func TestTranslationStopsWhenContextDone(t *testing.T) {
	models, _ := NewModels("")
	req := manyMessages(100 * cancelEvery)
	ctx := &doneAfter{Context: context.Background(), n: 3}
	tr, err := RequestToGemini(ctx, req, models, RequestOptions{Backend: gemini.Developer})
	if !errors.Is(err, context.Canceled) || tr != nil {
		t.Fatalf("got %v, %v; want context.Canceled", tr, err)
	}
	if ctx.calls != 3 {
		t.Errorf("context checked %d times; want 3: translation went on after it was done", ctx.calls)
	}

	// A live context is checked about once per cancelEvery messages, not once per message.
	ctx = &doneAfter{Context: context.Background(), n: 1 << 30}
	if _, err := RequestToGemini(ctx, req, models, RequestOptions{Backend: gemini.Developer}); err != nil {
		t.Fatal(err)
	}
	if ctx.calls != 100 {
		t.Errorf("context checked %d times for %d messages; want 100", ctx.calls, len(req.Messages))
	}
}
