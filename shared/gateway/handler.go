// Package gateway is the one http.Handler of the gateway: routing, auth, limits, CORS, the
// Chat Completions pipeline (decode, translate, call Gemini, translate back), the SSE writer and
// the single error funnel. It knows nothing of Cloud Functions or Lambda.
package gateway

import (
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/geminigateway/gateway/shared/gemini"
	"github.com/geminigateway/gateway/shared/keys"
	"github.com/geminigateway/gateway/shared/media"
	"github.com/geminigateway/gateway/shared/openai"
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
	CORSOrigins     []string
	// KeepAlive is the silence after which a stream gets an SSE comment.
	KeepAlive time.Duration
	Logger    *slog.Logger
	// TraceProject, when set, makes log lines carry logging.googleapis.com/trace.
	TraceProject string
	// EMFNamespace, when set (on AWS Lambda), makes each request's log line a CloudWatch
	// embedded metric format document with its metrics in this namespace (see usageAttrs).
	EMFNamespace string
	Now          func() time.Time
}

// Handler serves the gateway's HTTP API.
type Handler struct {
	o Options
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
	return &Handler{o: o}
}

// ServeHTTP routes a request and writes one log line for it.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rs := &reqState{start: h.o.Now(), method: r.Method, route: r.URL.Path, traceID: traceID(r)}
	w.Header().Set("X-Request-Id", rs.traceID)
	h.cors(w, r)
	defer func() {
		if rs.status > 0 && rs.status != statusClientClosed {
			// net/http sends a buffered response only when the handler returns: flush first
			// so the client does not wait for the log line.
			_ = http.NewResponseController(w).Flush()
		}
		h.logRequest(r, rs)
	}()

	switch r.URL.Path {
	case "/healthz":
		if !h.method(w, r, rs, http.MethodGet, http.MethodHead) {
			return
		}
		rs.status = http.StatusOK
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(`{"status":"ok"}`))
	case "/v1/chat/completions", "/chat/completions", "/gemini/chat/completions", "/v1/gemini/chat/completions":
		if !h.method(w, r, rs, http.MethodPost) {
			return
		}
		h.chat(w, r, rs)
	case "/v1/models", "/models":
		if !h.method(w, r, rs, http.MethodGet) {
			return
		}
		if _, err := h.authenticate(r, rs); err != nil {
			h.writeError(w, rs, err)
			return
		}
		h.models(w, rs)
	default:
		h.writeError(w, rs, openai.Errorf(http.StatusNotFound, openai.CodeNotFound, "", "no route for %s %s", r.Method, r.URL.Path))
	}
}

// method checks the request method; OPTIONS preflights are answered here when CORS is on.
func (h *Handler) method(w http.ResponseWriter, r *http.Request, rs *reqState, allowed ...string) bool {
	for _, m := range allowed {
		if r.Method == m {
			return true
		}
	}
	if r.Method == http.MethodOptions && len(h.o.CORSOrigins) > 0 {
		rs.status = http.StatusNoContent
		w.WriteHeader(http.StatusNoContent)
		return false
	}
	w.Header().Set("Allow", strings.Join(allowed, ", "))
	h.writeError(w, rs, openai.Errorf(http.StatusMethodNotAllowed, openai.CodeMethodNotAllowed, "", "method %s is not allowed on %s", r.Method, r.URL.Path))
	return false
}

// cors sets the CORS headers when the request's Origin is configured (or "*" is).
func (h *Handler) cors(w http.ResponseWriter, r *http.Request) {
	origin := r.Header.Get("Origin")
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
	raw := r.Header.Get("X-Api-Key")
	if a := r.Header.Get("Authorization"); a != "" {
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

func (h *Handler) models(w http.ResponseWriter, rs *reqState) {
	list := openai.ModelList{Object: "list", Data: make([]openai.Model, 0, len(h.o.Models.List()))}
	for _, id := range h.o.Models.List() {
		list.Data = append(list.Data, openai.Model{ID: id, Object: "model", Created: 1735689600, OwnedBy: "google"})
	}
	h.writeJSON(w, rs, http.StatusOK, list)
}

// newID returns prefix followed by 24 random base-36 characters. Uniqueness, not secrecy, is
// what ids need, so the fast runtime generator is enough.
func newID(prefix string) string {
	b := make([]byte, 0, len(prefix)+26)
	b = append(b, prefix...)
	for range 2 {
		s := strconv.FormatUint(rand.Uint64()|1<<63, 36) // 13 chars
		b = append(b, s[1:]...)
	}
	return string(b)
}

// NewCallID returns a unique tool-call id base.
func NewCallID() string { return newID("call_") }
