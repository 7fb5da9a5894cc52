package gemini

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// The upstream request of a call, made for the common case without url.Parse and
// textproto.CanonicalMIMEHeaderKey: what http.NewRequestWithContext and Header.Set would make,
// field by field (TestNewRequestMatchesNewRequestWithContext, FuzzEndpointURL).

// modelPath holds the URL paths of a model's generateContent and streamGenerateContent.
type modelPath struct{ model, generate, stream string }

// bearer is the Authorization header's value for an OAuth token.
type bearer struct {
	token  string
	header []string
}

// parseBase returns base parsed for newRequest, which appends a plain model name and a method to
// its path, or nil when appending to base could change more than the path: a base with a query or
// a fragment, an opaque or relative one, or one whose path keeps its own escaping (RawPath). The
// host loses an empty port, as http.NewRequest normalises it.
func parseBase(base string) *url.URL {
	if strings.ContainsAny(base, "?#") {
		return nil
	}
	u, err := url.Parse(base)
	if err != nil || u.Scheme == "" || u.Opaque != "" || u.RawPath != "" {
		return nil
	}
	u.Host = strings.TrimSuffix(u.Host, ":")
	return u
}

// jsonType is the Content-Type header's value of every request with a body. Requests share it:
// neither net/http nor any transport writes into a header's value slice (Header.Set replaces
// the slice, Header.Add appends to it, and with no spare capacity that copies; RoundTrip must not
// modify the request at all), so the shared slice is only ever read.
var jsonType = []string{"application/json"}[:1:1]

// newRequest returns the request of body (nil for none) to ep: what
// http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body)) returns, with the
// Content-Type set when there is a body. For a model's method on a parsed base (the common
// case) it is made without url.Parse: the URL is the base's with the model and method appended
// to its path, which is what parsing c.URL(model, method) gives when the model needs no escaping
// (TestNewRequestMatchesNewRequestWithContext and FuzzEndpointURL hold the two to the same
// request); the URL and the body reader share one allocation; and the header is set by map
// assignment under its canonical key, with a shared value.
func (c *Client) newRequest(ctx context.Context, method string, ep endpoint, body []byte) (*http.Request, error) {
	if ep.method == "" || c.modelBase == nil || !plainSegment(ep.model) {
		u := ep.url
		if ep.method != "" {
			u = c.URL(ep.model, ep.method)
		}
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(body)
		}
		req, err := http.NewRequestWithContext(ctx, method, u, rd)
		if err != nil {
			return nil, err
		}
		if body != nil {
			req.Header["Content-Type"] = jsonType
		}
		return req, nil
	}
	o := &outgoing{url: *c.modelBase}
	switch p := c.modelPaths(ep.model); ep.method {
	case "generateContent":
		o.url.Path = p.generate
	case "streamGenerateContent":
		o.url.Path, o.url.RawQuery = p.stream, "alt=sse"
	default:
		o.url.Path = c.modelBase.Path + ep.model + ":" + ep.method
	}
	r := http.Request{Method: method, URL: &o.url, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: make(http.Header, 2), Host: o.url.Host}
	if body != nil {
		r.Header["Content-Type"] = jsonType
		if len(body) == 0 {
			r.Body, r.GetBody = http.NoBody, noBody
		} else {
			o.body.Reset(body)
			r.Body, r.ContentLength = io.NopCloser(&o.body), int64(len(body))
			r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
		}
	}
	return r.WithContext(ctx), nil
}

// modelPaths returns the URL paths of model's methods: those of the last model called again, as
// a deployment calls one model or two, and else made and kept.
func (c *Client) modelPaths(model string) *modelPath {
	if p := c.paths.Load(); p != nil && p.model == model {
		return p
	}
	prefix := c.modelBase.Path + model
	p := &modelPath{model: model, generate: prefix + ":generateContent", stream: prefix + ":streamGenerateContent"}
	c.paths.Store(p)
	return p
}

// outgoing holds the URL and the body reader of a request newRequest makes.
type outgoing struct {
	url  url.URL
	body bytes.Reader
}

func noBody() (io.ReadCloser, error) { return http.NoBody, nil }

// plainSegment reports whether url.PathEscape leaves s as it is and url.Parse's path escaping
// would too: ASCII letters, digits and -._~ only.
func plainSegment(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '.', c == '_', c == '~':
		default:
			return false
		}
	}
	return true
}

// authorization returns the Authorization header's value for an OAuth token: the last token's
// header again while the token provider hands out the same token (until it refreshes it).
func (c *Client) authorization(token string) []string {
	if b := c.bearer.Load(); b != nil && b.token == token {
		return b.header
	}
	b := &bearer{token: token, header: []string{"Bearer " + token}}
	c.bearer.Store(b)
	return b.header
}
