// Package gateway is the one http.Handler of the gateway: routing, auth, limits, CORS, the
// Chat Completions pipeline (decode, translate, call Gemini, translate back), the SSE writer and
// the single error funnel. It knows nothing of Cloud Functions or Lambda.
package gateway

import (
	"fmt"
	"log/slog"
	"math/bits"
	"math/rand/v2"
	"net/http"
	"path"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/geminigateway/gateway/shared/batch/engine"
	"github.com/geminigateway/gateway/shared/batch/localbatch"
	"github.com/geminigateway/gateway/shared/gemini"
	"github.com/geminigateway/gateway/shared/keys"
	"github.com/geminigateway/gateway/shared/media"
	"github.com/geminigateway/gateway/shared/openai"
	"github.com/geminigateway/gateway/shared/store"
	"github.com/geminigateway/gateway/shared/translate"
)

// Options configure a Handler.
type Options struct {
	Client *gemini.Client
	Models *translate.Models
	// Keys authenticates clients; nil turns client auth off (GATEWAY_AUTH=none, for deployments
	// that rely on the platform's IAM invoker check instead).
	Keys *keys.Store
	// Fetcher fetches http(s) media for inlining; FetchHTTPMedia says whether to (per backend).
	Fetcher        *media.Fetcher
	FetchHTTPMedia bool
	// IncludeThoughts is the default for thinking models when a request does not say.
	IncludeThoughts bool
	MaxBodyBytes    int64
	// MaxMessages and MaxParts bound the messages, and the content parts and tool calls, of one
	// request; zero takes openai.DefaultLimits.
	MaxMessages, MaxParts int
	CORSOrigins           []string
	// EmbedConcurrency bounds the upstream calls of one embeddings request (default
	// DefaultEmbedConcurrency).
	EmbedConcurrency int
	// Store is the object store of uploaded files, batches (the Files and Batches API) and
	// stored Responses API responses; nil turns the files and batches routes off and answers
	// store: true with "store": false (previous_response_id is then refused).
	Store store.Store
	// BatchEngine runs batches; nil runs them in-process with Client (localbatch), which is
	// what the emulator backend uses.
	BatchEngine engine.Engine
	// KeepAlive is the silence after which a stream gets an SSE comment.
	KeepAlive time.Duration
	Logger    *slog.Logger
	// TraceProject, when set, makes log lines carry logging.googleapis.com/trace.
	TraceProject string
	// EMFNamespace, when set (on AWS Lambda), makes each request's log line a CloudWatch
	// embedded metric format document with its metrics in this namespace (see usageAttrs).
	EMFNamespace string
	Now          func() time.Time
	// SealKey is the key of the Responses API's encrypted_content (translate.DefaultSealKey
	// when empty); every instance of a deployment must share it.
	SealKey []byte
}

// Handler serves the gateway's HTTP API.
type Handler struct {
	o      Options
	engine engine.Engine
	// beforeStreamError, set by tests only, runs in the funnel between a streamed request's
	// failure and the funnel's decision, where a keep-alive may fire.
	beforeStreamError func(*sseWriter)
}

// New returns a Handler.
func New(o Options) *Handler {
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 32 << 20
	}
	if o.KeepAlive <= 0 {
		o.KeepAlive = 15 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	h := &Handler{o: o, engine: o.BatchEngine}
	if h.engine == nil && o.Store != nil && o.Client != nil {
		h.engine = localbatch.New(o.Store, o.Client, 8)
	}
	return h
}

// ServeHTTP routes a request to its handler, turns the error it returns (or its panic) into the
// answer through the one funnel, writeError, and writes one log line for it.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rs := &reqState{start: h.o.Now(), method: r.Method, route: r.URL.Path, traceID: traceID(r)}
	rs.w.ResponseWriter = w
	w = &rs.w
	w.Header()["X-Request-Id"] = []string{rs.traceID}
	h.cors(w, r)
	defer h.finish(r, rs)
	if err := h.route(w, r, rs); err != nil {
		h.writeError(rs, err)
	}
}

// finish ends every request. A panic is recovered and answered through the funnel like a
// returned error: our 500 body before the first byte, one final error event in a started event
// stream. It is never re-panicked, http.ErrAbortHandler included: the adapters call ServeHTTP
// without net/http's server around it, where a panic would end the process. Then the stream is
// closed, the response flushed and the log line written.
func (h *Handler) finish(r *http.Request, rs *reqState) {
	if v := recover(); v != nil {
		if v != http.ErrAbortHandler { // the one panic net/http does not log a stack for
			rs.stack = debug.Stack()
		}
		func() {
			defer func() { _ = recover() }() // a ResponseWriter that panics as well gets nothing more
			h.writeError(rs, &panicError{v})
		}()
	}
	if rs.sse != nil {
		rs.sse.close()
	}
	if !rs.w.gone && (rs.err == nil || rs.err.Status != statusClientClosed) && !rs.sse.completed() {
		// net/http sends a buffered response only when the handler returns: flush first so
		// the client does not wait for the log line. A completed event stream is the
		// exception: its [DONE] goes out with the end of the body in one write on return.
		_ = rs.w.FlushError()
	}
	h.logRequest(r, rs, rs.logStatus())
}

// routeFunc serves one route; the error it returns goes to the funnel.
type routeFunc func(w http.ResponseWriter, r *http.Request, rs *reqState) error

// route serves r by its path. Paths are matched as sent: one that is not in its clean form
// ("//v1/models", "/v1/../v1/models") is not found rather than served as another path, so
// that a path rule in front of the gateway sees the path that is served.
func (h *Handler) route(w http.ResponseWriter, r *http.Request, rs *reqState) error {
	switch p := r.URL.Path; {
	case p == "/healthz":
		return h.only(w, r, rs, h.health, http.MethodGet, http.MethodHead)
	case p == "/v1/chat/completions", p == "/chat/completions", p == "/gemini/chat/completions", p == "/v1/gemini/chat/completions":
		return h.only(w, r, rs, h.chat, http.MethodPost)
	case p == "/v1/embeddings", p == "/embeddings":
		return h.only(w, r, rs, h.embeddings, http.MethodPost)
	case p == "/v1/responses", p == "/responses":
		return h.only(w, r, rs, h.responses, http.MethodPost)
	case strings.HasPrefix(p, "/v1/responses/"), strings.HasPrefix(p, "/responses/"):
		return h.only(w, r, rs, h.responseByID, http.MethodGet, http.MethodDelete)
	case p == "/v1/models", p == "/models":
		return h.only(w, r, rs, h.models, http.MethodGet)
	case strings.HasPrefix(p, "/v1/models/"), strings.HasPrefix(p, "/models/"):
		return h.only(w, r, rs, h.model, http.MethodGet)
	}
	if rest, ok := strings.CutPrefix(strings.TrimPrefix(r.URL.Path, "/v1"), "/files"); ok && (rest == "" || rest[0] == '/') {
		return h.filesRoute(w, r, rs, rest)
	}
	if rest, ok := strings.CutPrefix(strings.TrimPrefix(r.URL.Path, "/v1"), "/batches"); ok && (rest == "" || rest[0] == '/') {
		return h.batchesRoute(w, r, rs, rest)
	}
	return notFound(r)
}

// notFound is the error for a path no route serves, pointing at the clean form of the path.
func notFound(r *http.Request) error {
	e := openai.Errorf(http.StatusNotFound, openai.CodeNotFound, "", "no route for %s %s", r.Method, r.URL.Path)
	if c := path.Clean(r.URL.Path); c != r.URL.Path && strings.HasPrefix(r.URL.Path, "/") {
		e.Message += fmt.Sprintf(" (paths are matched as sent: did you mean %s?)", c)
	}
	return e
}

// only serves r with serve when its method is one of allowed. An OPTIONS preflight is answered
// here when CORS is on; any other method is 405 with Allow.
func (h *Handler) only(w http.ResponseWriter, r *http.Request, rs *reqState, serve routeFunc, allowed ...string) error {
	if slices.Contains(allowed, r.Method) {
		return serve(w, r, rs)
	}
	if r.Method == http.MethodOptions && len(h.o.CORSOrigins) > 0 {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	w.Header().Set("Allow", strings.Join(allowed, ", "))
	return openai.Errorf(http.StatusMethodNotAllowed, openai.CodeMethodNotAllowed, "", "method %s is not allowed on %s", r.Method, r.URL.Path)
}

func (h *Handler) health(w http.ResponseWriter, r *http.Request, rs *reqState) error {
	return writeJSON(w, http.StatusOK, struct {
		Status string `json:"status"`
	}{"ok"})
}

// cors sets the CORS headers when the request's Origin is configured (or "*" is).
func (h *Handler) cors(w http.ResponseWriter, r *http.Request) {
	origin := headerValue(r.Header, "Origin")
	if origin == "" || len(h.o.CORSOrigins) == 0 {
		return
	}
	allowed := ""
	for _, o := range h.o.CORSOrigins {
		if o == "*" || o == origin {
			allowed = o
			break
		}
	}
	if allowed == "" {
		return
	}
	hd := w.Header()
	hd.Set("Access-Control-Allow-Origin", allowed)
	hd.Add("Vary", "Origin")
	hd.Set("Access-Control-Expose-Headers", "X-Request-Id, Retry-After")
	if r.Method == http.MethodOptions {
		hd.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
		hd.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, X-Api-Key, OpenAI-Organization, OpenAI-Project, X-Stainless-Lang, X-Stainless-Package-Version, X-Stainless-OS, X-Stainless-Arch, X-Stainless-Runtime, X-Stainless-Runtime-Version, X-Stainless-Retry-Count, X-Stainless-Timeout")
		hd.Set("Access-Control-Max-Age", "600")
	}
}

// authenticate checks the client key from Authorization: Bearer or x-api-key, and its rate.
func (h *Handler) authenticate(r *http.Request, rs *reqState) (*keys.Key, error) {
	if h.o.Keys == nil {
		return nil, nil
	}
	raw := headerValue(r.Header, "X-Api-Key")
	if a := headerValue(r.Header, "Authorization"); a != "" {
		scheme, tok, ok := strings.Cut(a, " ")
		if ok && strings.EqualFold(scheme, "Bearer") {
			raw = strings.TrimSpace(tok)
		}
	}
	if raw == "" {
		return nil, openai.Errorf(http.StatusUnauthorized, openai.CodeInvalidToken, "", "missing API key: send Authorization: Bearer <key>")
	}
	k, ok := h.o.Keys.Lookup(raw)
	if !ok {
		return nil, openai.Errorf(http.StatusUnauthorized, openai.CodeInvalidToken, "", "invalid API key")
	}
	rs.key = k.Name
	if ok, wait := h.o.Keys.Allow(k, h.o.Now()); !ok {
		e := openai.Errorf(http.StatusTooManyRequests, openai.CodeTooManyRequests, "", "rate limit of %d requests per minute reached for key %q", k.RPM, k.Name)
		e.RetryAfter = wait
		return nil, e
	}
	return k, nil
}

// modelsCreated is the "created" time of every model object: Gemini publishes none.
const modelsCreated = 1735689600 // 2025-01-01T00:00:00Z

// models serves GET /v1/models: the model table's names in OpenAI's list format.
func (h *Handler) models(w http.ResponseWriter, r *http.Request, rs *reqState) error {
	if _, err := h.authenticate(r, rs); err != nil {
		return err
	}
	ids := h.o.Models.ListFor(h.o.Client.Backend())
	list := openai.ModelList{Object: "list", Data: make([]openai.Model, 0, len(ids))}
	for _, id := range ids {
		list.Data = append(list.Data, openai.Model{ID: id, Object: "model", Created: modelsCreated, OwnedBy: "google"})
	}
	return writeJSON(w, http.StatusOK, list)
}

// model serves GET /v1/models/{id}: the model object of a name GET /v1/models lists, with or
// without the "google/" prefix that Vertex's OpenAI endpoint uses; the id is echoed as asked.
// https://platform.openai.com/docs/api-reference/models/retrieve
func (h *Handler) model(w http.ResponseWriter, r *http.Request, rs *reqState) error {
	if _, err := h.authenticate(r, rs); err != nil {
		return err
	}
	id := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, "/v1"), "/models/")
	if _, ok := slices.BinarySearch(h.o.Models.ListFor(h.o.Client.Backend()), strings.TrimPrefix(id, "google/")); !ok {
		return openai.Errorf(http.StatusNotFound, openai.CodeModelNotFound, "model",
			"The model %q does not exist or is not served by this gateway (see GET /v1/models)", id)
	}
	return writeJSON(w, http.StatusOK, openai.Model{ID: id, Object: "model", Created: modelsCreated, OwnedBy: "google"})
}

// newID returns prefix followed by 24 random base-36 characters. Uniqueness, not secrecy, is
// what ids need, so the fast runtime generator is enough. Each random word gives 12 characters
// as the first base-36 digits of the fraction x/2^64 (a multiply each: 36^12 < 2^64, so the
// digits are all but uniform), with no division.
func newID(prefix string) string {
	var buf [64]byte
	b := append(buf[:0], prefix...)
	for range 2 {
		x := rand.Uint64()
		for range 12 {
			var d uint64
			d, x = bits.Mul64(x, 36)
			b = append(b, base36[d])
		}
	}
	return string(b)
}

const base36 = "0123456789abcdefghijklmnopqrstuvwxyz"

// NewCallID returns a unique tool-call id base.
func NewCallID() string { return newID("call_") }
