package batchtest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/geminigateway/gateway/shared/batch"
	"github.com/geminigateway/gateway/shared/openai"
)

// Completer is a fake batch.Completer. It tells requests apart by the body's "user" field
// (File puts the line's custom_id there) and answers:
//   - 503 (upstream_error) for the calls Outage picks (numbered from 0 in arrival order);
//   - 400 with the gateway's error body when user starts with "reject";
//   - 200 with a chat.completion echoing user otherwise.
//
// It counts calls per user, and records any call for a user that had already been answered
// 200: with at-least-once delivery and persisted results, that must never happen.
type Completer struct {
	// Outage, when set, fails call number n with 503.
	Outage func(n int) bool
	// Delay, when set, is how long each call takes (or until ctx ends, then 499).
	Delay time.Duration

	mu          sync.Mutex
	n           int
	calls       map[string]int
	succeeded   map[string]int
	resent      []string
	inFlight    int
	maxInFlight int
}

// Complete implements batch.Completer.
func (c *Completer) Complete(ctx context.Context, body []byte) batch.Completion {
	var req struct {
		User   string `json:"user"`
		Stream bool   `json:"stream"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return errorCompletion(http.StatusBadRequest, "invalid_request", "bad JSON", "t-bad")
	}
	c.mu.Lock()
	if c.calls == nil {
		c.calls, c.succeeded = make(map[string]int), make(map[string]int)
	}
	n := c.n
	c.n++
	c.calls[req.User]++
	if c.succeeded[req.User] > 0 {
		c.resent = append(c.resent, req.User)
	}
	c.inFlight++
	c.maxInFlight = max(c.maxInFlight, c.inFlight)
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.inFlight--
		c.mu.Unlock()
	}()

	if c.Delay > 0 {
		select {
		case <-time.After(c.Delay):
		case <-ctx.Done():
			return errorCompletion(499, "client_closed_request", "the request was cancelled", "t-cancel")
		}
	}
	trace := "trace-" + req.User // the gateway's are random; these keep golden files stable
	switch {
	case req.Stream:
		return errorCompletion(http.StatusBadRequest, "invalid_request", "stream: true is not supported in batch jobs", trace)
	case c.Outage != nil && c.Outage(n):
		return errorCompletion(http.StatusServiceUnavailable, "upstream_error", "The model is overloaded. Please try again later.", trace)
	case strings.HasPrefix(req.User, "reject"):
		return errorCompletion(http.StatusBadRequest, "invalid_request", "messages[0].content: unknown part type \"video\"", trace)
	}
	c.mu.Lock()
	c.succeeded[req.User]++
	c.mu.Unlock()
	resp := fmt.Sprintf(`{"id":"chatcmpl-%s","object":"chat.completion","created":1700000000,"model":"gemini-2.5-flash",`+
		`"choices":[{"index":0,"message":{"role":"assistant","content":"echo <%s> & done"},"finish_reason":"stop"}],`+
		`"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}`, req.User, req.User)
	return batch.Completion{Status: http.StatusOK, Body: []byte(resp), RequestID: "chatcmpl-" + req.User}
}

// errorCompletion is the gateway's answer for an error: the error and the body it writes.
func errorCompletion(status int, code, msg, trace string) batch.Completion {
	e := &openai.Error{Status: status, Type: "invalid_request_error", Code: code, Message: msg}
	return batch.Completion{Status: status, Body: e.MarshalBody(trace), RequestID: trace, Err: e}
}

// Calls returns how many calls came for user.
func (c *Completer) Calls(user string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls[user]
}

// Total returns the number of calls.
func (c *Completer) Total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// Resent returns the users called again after a 200.
func (c *Completer) Resent() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.resent...)
}

// MaxInFlight returns the most calls that ran at once.
func (c *Completer) MaxInFlight() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.maxInFlight
}
