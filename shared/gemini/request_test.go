package gemini

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"

	"cloud.google.com/go/auth"
)

// referenceRequest is the request the client made before newRequest took the common case off
// url.Parse: http.NewRequestWithContext on c.URL, and the Content-Type set with Header.Set.
func referenceRequest(ctx context.Context, c *Client, ep endpoint, body []byte) (*http.Request, error) {
	u := ep.url
	if ep.method != "" {
		u = c.URL(ep.model, ep.method)
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}

// readBody returns the dynamic type of a request body and its bytes.
func readBody(t *testing.T, rc io.ReadCloser) (string, string) {
	t.Helper()
	if rc == nil {
		return "<nil>", ""
	}
	typ := reflect.TypeOf(rc).String()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return typ, string(b)
}

// sameRequest fails unless got is want field by field: every field of http.Request, unexported
// ones (the context) included, compared by reflection so that a field added to the struct is
// compared too; the bodies, which are readers, by their type and bytes; GetBody by what it gives;
// and the bytes each request puts on the wire.
func sameRequest(t *testing.T, what string, got, want *http.Request) {
	t.Helper()
	if (got.GetBody == nil) != (want.GetBody == nil) {
		t.Fatalf("%s: GetBody set %v, want %v", what, got.GetBody != nil, want.GetBody != nil)
	}
	if got.GetBody != nil {
		for range 2 { // each call gives the whole body again
			gb, gerr := got.GetBody()
			wb, werr := want.GetBody()
			if gerr != nil || werr != nil {
				t.Fatalf("%s: GetBody errors %v, %v", what, gerr, werr)
			}
			gt, gs := readBody(t, gb)
			wt, ws := readBody(t, wb)
			if gt != wt || gs != ws {
				t.Fatalf("%s: GetBody gives %s %q, want %s %q", what, gt, gs, wt, ws)
			}
		}
	}
	if g, w := reflect.TypeOf(got.Body), reflect.TypeOf(want.Body); g != w {
		t.Fatalf("%s: Body is a %v, want a %v", what, g, w)
	}
	if got.Body == http.NoBody || want.Body == http.NoBody {
		if got.Body != want.Body {
			t.Fatalf("%s: Body %v, want %v", what, got.Body, want.Body)
		}
	}
	g, w := *got, *want
	g.Body, g.GetBody, w.Body, w.GetBody = nil, nil, nil, nil
	if !reflect.DeepEqual(g, w) { // every field, unexported ones too; then name the first that differs
		rg, rw := reflect.ValueOf(g), reflect.ValueOf(w)
		for i := range rg.NumField() {
			f := rg.Type().Field(i)
			if !f.IsExported() {
				t.Errorf("%s: the requests differ, maybe in field %s", what, f.Name)
			} else if gv, wv := rg.Field(i).Interface(), rw.Field(i).Interface(); !reflect.DeepEqual(gv, wv) {
				t.Fatalf("%s: field %s is %#v, want %#v", what, f.Name, gv, wv)
			}
		}
		t.FailNow()
	}
	if got.Context() != want.Context() {
		t.Fatalf("%s: the request carries another context", what)
	}
	if gs, ws := got.URL.String(), want.URL.String(); gs != ws {
		t.Fatalf("%s: URL %q, want %q", what, gs, ws)
	}
	var gw, ww bytes.Buffer
	gerr, werr := got.Write(&gw), want.Write(&ww)
	if (gerr == nil) != (werr == nil) || gw.String() != ww.String() {
		t.Fatalf("%s: on the wire\n%q (%v)\nwant\n%q (%v)", what, gw.String(), gerr, ww.String(), werr)
	}
}

// requestClients are clients on the bases newRequest must treat exactly as url.Parse does: the
// default hosts, test servers' bases, a path prefix, IPv6, user info, an empty port, an upper
// case scheme and host, and bases it must leave to url.Parse (a query, a fragment, an escaped
// or a space in the path, a relative base).
func requestClients(t testing.TB) map[string]*Client {
	t.Helper()
	out := map[string]*Client{}
	add := func(name string, o Options) {
		if o.Backend == "" {
			o.Backend, o.APIKey = Developer, "k"
		}
		c, err := New(o)
		if err != nil {
			t.Fatal(err)
		}
		out[name] = c
	}
	add("developer", Options{})
	add("vertex global", Options{Backend: Vertex, Project: "my-project", Tokens: fixedTokens{"t"}})
	add("vertex region", Options{Backend: Vertex, Project: "my-project", Location: "europe-west4", Tokens: fixedTokens{"t"}})
	add("vertex odd project", Options{Backend: Vertex, Project: "a b/c", Location: "x:y", Tokens: fixedTokens{"t"}})
	for _, base := range []string{
		"http://127.0.0.1:8080", "http://127.0.0.1:8080/", "https://example.com/prefix/", "https://example.com/pre:fix",
		"http://[::1]:9000", "http://[::1]", "http://user:pw@example.com", "http://example.com:", "http://[::1]:",
		"HTTP://Example.COM", "http://example.com/?q=1", "http://example.com/#f", "http://example.com/a%2Fb",
		"http://example.com/a b", "http://example.com/%41", "example.com", "/relative", "http:opaque",
	} {
		add("base "+base, Options{BaseURL: base})
	}
	return out
}

// fixedTokens is a token provider that always gives the same token.
type fixedTokens struct{ value string }

func (f fixedTokens) Token(context.Context) (*auth.Token, error) {
	return &auth.Token{Value: f.value, Type: "Bearer"}, nil
}

// requestModels are model names plain and needing escapes: the fast path takes only the first
// kind, and must hand every other to url.Parse.
var requestModels = []string{
	"gemini-2.5-flash", "gemini-3-pro-preview", "", "a.b_c~d", "~", "..", "tunedModels/my-model", "a b", "a:b",
	"a?b", "a#b", "a%2Fb", "a%zz", "é", "\xff", "a\x00b", "a;b,c", "a@b&c=d+e$f", "A-Z_0-9",
}

// TestNewRequestMatchesNewRequestWithContext pins that the request newRequest makes for a
// model's method is field by field the one http.NewRequestWithContext makes from c.URL, on
// every kind of base, for plain model names (made without url.Parse) and for names that need
// escaping (which take url.Parse), with no body, an empty one and a JSON one; and that the fast
// path is taken where it should be, so the comparison is not of the fallback with itself.
func TestNewRequestMatchesNewRequestWithContext(t *testing.T) {
	ctx := t.Context()
	for name, c := range requestClients(t) {
		for _, model := range requestModels {
			for _, method := range []string{"generateContent", "streamGenerateContent"} {
				for _, body := range [][]byte{nil, {}, []byte(benchRequest)} {
					ep := endpoint{model: model, method: method}
					checkNewRequest(t, ctx, c, ep, body, name)
				}
			}
		}
		// A call to a URL (embeddings, batches, files) goes through url.Parse as before.
		checkNewRequest(t, ctx, c, endpoint{url: c.URL("m", "embedContent") + "?prettyPrint=false"}, []byte("{}"), name)
	}
	for base, fast := range map[string]bool{"developer": true, "vertex global": true, "vertex odd project": false,
		"base http://[::1]:": true, "base HTTP://Example.COM": true, "base https://example.com/pre:fix": true,
		"base http://example.com/?q=1": false, "base http://example.com/a%2Fb": false, "base http://example.com/a b": false,
		"base example.com": false, "base http:opaque": false} {
		if got := requestClients(t)[base].modelBase != nil; got != fast {
			t.Errorf("%s: fast path %v, want %v", base, got, fast)
		}
	}
	for _, m := range []string{"gemini-2.5-flash", "gemini-3-pro-preview", "A-Z_0-9", "a.b_c~d", ""} {
		if !plainSegment(m) {
			t.Errorf("model %q does not take the fast path", m)
		}
	}
}

func checkNewRequest(t *testing.T, ctx context.Context, c *Client, ep endpoint, body []byte, name string) {
	t.Helper()
	what := name + " " + ep.model + ":" + ep.method + ep.url
	got, gerr := c.newRequest(ctx, http.MethodPost, ep, body)
	want, werr := referenceRequest(ctx, c, ep, body)
	if (gerr == nil) != (werr == nil) || gerr != nil && gerr.Error() != werr.Error() {
		t.Fatalf("%s: error %v, want %v", what, gerr, werr)
	}
	if gerr == nil {
		sameRequest(t, what, got, want)
	}
}

// FuzzEndpointURL holds newRequest to http.NewRequestWithContext on c.URL for any model name,
// on a default base, a test server's and one with a path prefix.
func FuzzEndpointURL(f *testing.F) {
	for _, m := range requestModels {
		f.Add(m, false)
		f.Add(m, true)
	}
	clients := requestClients(f)
	f.Fuzz(func(t *testing.T, model string, stream bool) {
		method := "generateContent"
		if stream {
			method = "streamGenerateContent"
		}
		for _, name := range []string{"developer", "vertex region", "base http://127.0.0.1:8080", "base https://example.com/prefix/", "base http://[::1]:"} {
			checkNewRequest(t, t.Context(), clients[name], endpoint{model: model, method: method}, []byte(benchRequest), name)
		}
	})
}

// headerTransport records the headers of each request it gets and answers okBody.
type headerTransport struct {
	mu      sync.Mutex
	headers []http.Header
}

func (h *headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	h.mu.Lock()
	h.headers = append(h.headers, r.Header.Clone())
	h.mu.Unlock()
	return answerTransport{okBody}.RoundTrip(r)
}

// changingTokens hands out the tokens in turn, one per call.
type changingTokens struct {
	mu     sync.Mutex
	values []string
}

func (c *changingTokens) Token(context.Context) (*auth.Token, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v := c.values[0]
	if len(c.values) > 1 {
		c.values = c.values[1:]
	}
	return &auth.Token{Value: v, Type: "Bearer"}, nil
}

// TestCredentialHeaders pins the headers a call sends, exactly as Header.Set wrote them (under
// their canonical keys): the API key and the Content-Type on the Developer API, and on Vertex a
// bearer that follows the token provider when it hands out a new token.
func TestCredentialHeaders(t *testing.T) {
	ht := &headerTransport{}
	dev, err := New(Options{Backend: Developer, APIKey: "the-key", HTTPClient: &http.Client{Transport: ht}})
	if err != nil {
		t.Fatal(err)
	}
	vtx, err := New(Options{Backend: Vertex, Project: "p", Tokens: &changingTokens{values: []string{"t1", "t1", "t2"}},
		HTTPClient: &http.Client{Transport: ht}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dev.Generate(t.Context(), testModel, []byte(testBody)); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := vtx.Generate(t.Context(), testModel, []byte(testBody)); err != nil {
			t.Fatal(err)
		}
	}
	want := []http.Header{
		{"Content-Type": {"application/json"}, "X-Goog-Api-Key": {"the-key"}},
		{"Content-Type": {"application/json"}, "Authorization": {"Bearer t1"}},
		{"Content-Type": {"application/json"}, "Authorization": {"Bearer t1"}},
		{"Content-Type": {"application/json"}, "Authorization": {"Bearer t2"}},
	}
	if !reflect.DeepEqual(ht.headers, want) {
		t.Errorf("headers sent:\n%v\nwant\n%v", ht.headers, want)
	}
	// Adding to a shared header value never writes into the slice the next request gets.
	req, err := dev.newRequest(t.Context(), http.MethodPost, endpoint{model: testModel, method: "generateContent"}, []byte("{}"))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Add("Content-Type", "text/plain")
	if !strings.EqualFold(jsonType[0], "application/json") || len(jsonType) != 1 {
		t.Errorf("the shared Content-Type value became %q", jsonType)
	}
}
