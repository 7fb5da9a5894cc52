// Package media turns the media references of OpenAI requests into bytes and
// MIME types for Gemini: it fetches http(s) URLs behind an SSRF guard, parses
// base64 data URIs without copying them, and names MIME types from file
// extensions and OpenAI audio formats.
//
// Fetching a URL a client supplied is a security boundary. The guard judges
// the address actually dialled, in the net.Dialer Control hook, after DNS and
// on every connection, so neither DNS rebinding nor a redirect to an internal
// address gets through; see DESIGN.md §6.
package media

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"syscall"
	"time"
)

// Defaults for Options fields left zero.
const (
	DefaultMaxBytes     = 20 << 20
	DefaultTimeout      = 30 * time.Second
	DefaultMaxRedirects = 5
)

const userAgent = "gemini-gateway-media/1"

// Options configures a Fetcher. The zero value is the production setting.
type Options struct {
	// MaxBytes caps the body size; 0 means DefaultMaxBytes (20 MiB, Gemini's
	// inline request limit).
	MaxBytes int64
	// Timeout caps the whole fetch (connect, redirects, body); 0 means
	// DefaultTimeout.
	Timeout time.Duration
	// MaxRedirects caps redirect hops; 0 means DefaultMaxRedirects and a
	// negative value follows none.
	MaxRedirects int
	// AllowPrivate permits loopback, private, link-local and unique-local
	// targets, for local use and tests. Metadata addresses and names,
	// unspecified, multicast and IPv4-mapped addresses stay refused.
	AllowPrivate bool
	// Resolver, if set, resolves host names (tests point it at a fake DNS
	// server). Nil means net.DefaultResolver. The address check applies to
	// whatever it returns.
	Resolver *net.Resolver
}

// Media is fetched content and its MIME type (parameters stripped).
type Media struct {
	MIMEType string
	Data     []byte
}

// Fetcher fetches user-supplied media URLs. It is safe for concurrent use and
// meant to be built once and shared, so that connections are reused.
type Fetcher struct {
	client       *http.Client
	maxBytes     int64
	timeout      time.Duration
	maxRedirects int
	allowPrivate bool

	// treatAsPublic is a test seam: it lets a loopback httptest server stand
	// in for a public host, so that tests can exercise redirects from an
	// allowed server to a refused one. It is nil outside tests.
	treatAsPublic func(netip.AddrPort) bool
}

// NewFetcher returns a Fetcher configured by opts.
func NewFetcher(opts Options) *Fetcher {
	f := &Fetcher{
		maxBytes:     opts.MaxBytes,
		timeout:      opts.Timeout,
		maxRedirects: opts.MaxRedirects,
		allowPrivate: opts.AllowPrivate,
	}
	if f.maxBytes <= 0 {
		f.maxBytes = DefaultMaxBytes
	}
	if f.timeout <= 0 {
		f.timeout = DefaultTimeout
	}
	switch {
	case f.maxRedirects == 0:
		f.maxRedirects = DefaultMaxRedirects
	case f.maxRedirects < 0:
		f.maxRedirects = 0
	}

	dialer := &net.Dialer{
		Timeout:   10 * time.Second,
		KeepAlive: 30 * time.Second,
		Resolver:  opts.Resolver,
		// Control runs after DNS resolution, on the socket about to connect,
		// for every address tried and every new connection (so on every
		// redirect hop that is not a reused connection to an already-checked
		// address). This is the one place where the address is judged.
		Control: f.control,
	}
	transport := &http.Transport{
		// No proxy: through a proxy the dialled address would be the proxy's,
		// and the guard would judge the wrong host.
		Proxy:                  nil,
		DialContext:            f.dialContext(dialer),
		ForceAttemptHTTP2:      true,
		TLSHandshakeTimeout:    10 * time.Second,
		MaxIdleConns:           32,
		MaxIdleConnsPerHost:    4,
		IdleConnTimeout:        90 * time.Second,
		MaxResponseHeaderBytes: 64 << 10,
	}
	f.client = &http.Client{
		Transport:     transport,
		CheckRedirect: f.checkRedirect,
	}
	return f
}

// Fetch downloads rawURL (http or https only) and returns its bytes and MIME
// type. Every error is an *Error; see Kind for the classes.
func (f *Fetcher) Fetch(ctx context.Context, rawURL string) (Media, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return Media{}, errorf(Invalid, err, "media URL is not a valid URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return Media{}, errorf(Invalid, nil, "media URL must be http or https, not %q", u.Scheme)
	}
	if u.Hostname() == "" {
		return Media{}, errorf(Invalid, nil, "media URL has no host")
	}

	fetchCtx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(fetchCtx, http.MethodGet, u.String(), nil)
	if err != nil {
		return Media{}, errorf(Invalid, err, "media URL is not a valid URL")
	}
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set("Accept", "*/*")

	resp, err := f.client.Do(req)
	if err != nil {
		return Media{}, f.failure(ctx, fetchCtx, err)
	}
	defer resp.Body.Close()

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e := errorf(FetchFailed, nil, "fetching the media URL failed: the server answered HTTP %d", resp.StatusCode)
		e.Status = resp.StatusCode
		return Media{}, e
	}
	if resp.ContentLength > f.maxBytes {
		// Refuse before reading a byte of the body.
		return Media{}, f.tooLarge(fmt.Errorf("declared Content-Length %d", resp.ContentLength))
	}
	data, err := f.readBody(resp.Body, resp.ContentLength)
	if err != nil {
		var me *Error
		if errors.As(err, &me) {
			return Media{}, me
		}
		return Media{}, f.failure(ctx, fetchCtx, err)
	}

	if len(data) == 0 {
		return Media{}, errorf(FetchFailed, nil, "fetching the media URL failed: the server answered HTTP %d with an empty body", resp.StatusCode)
	}
	paths := []string{resp.Request.URL.Path, u.Path}
	mt, err := detectMIME(resp.Header.Get("Content-Type"), paths, data)
	if err != nil {
		return Media{}, err
	}
	return Media{MIMEType: mt, Data: data}, nil
}

// readBody reads at most maxBytes+1 bytes: one byte over the cap proves the
// body is too large without reading the rest.
func (f *Fetcher) readBody(body io.Reader, contentLength int64) ([]byte, error) {
	var buf bytes.Buffer
	if contentLength > 0 {
		// Room for the whole declared body plus the probe for more, so that
		// ReadFrom never reallocates on an honest server.
		buf.Grow(int(contentLength) + bytes.MinRead)
	}
	n, err := buf.ReadFrom(io.LimitReader(body, f.maxBytes+1))
	if n > f.maxBytes {
		return nil, f.tooLarge(errors.New("body exceeded the limit while streaming"))
	}
	if err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func (f *Fetcher) tooLarge(cause error) *Error {
	return errorf(TooLarge, cause, "media at the URL is larger than the %d-byte limit", f.maxBytes)
}

// failure classifies an error from the HTTP client or the body read.
func (f *Fetcher) failure(parent, fetchCtx context.Context, err error) *Error {
	var me *Error
	if errors.As(err, &me) {
		return me // refused by the dial guard or the redirect policy
	}
	if parent.Err() == nil && errors.Is(fetchCtx.Err(), context.DeadlineExceeded) {
		return errorf(FetchFailed, err, "fetching the media URL timed out after %s", f.timeout)
	}
	if parent.Err() != nil {
		// The caller went away or its own deadline passed; Unwrap exposes which.
		return errorf(FetchFailed, parent.Err(), "fetching the media URL was cancelled")
	}
	return errorf(FetchFailed, err, "fetching the media URL failed")
}

// checkRedirect is the http.Client redirect policy. The address of each hop is
// judged when it is dialled; here only the hop count and scheme are checked.
func (f *Fetcher) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > f.maxRedirects {
		return errorf(FetchFailed, nil, "fetching the media URL failed: more than %d redirects", f.maxRedirects)
	}
	if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
		return errorf(Refused, nil, "media URL redirected to a non-HTTP URL")
	}
	return nil
}

// dialContext refuses metadata host names and IPv4-mapped literals before
// any DNS lookup, then dials with the guarded dialer.
func (f *Fetcher) dialContext(d *net.Dialer) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, errorf(Invalid, err, "media URL has an invalid host")
		}
		if isMetadataHost(host) {
			return nil, errorf(Refused, fmt.Errorf("host %q", host), "media URL host is not allowed (cloud metadata server)")
		}
		if ip, err := netip.ParseAddr(host); err == nil && ip.Is4In6() {
			return nil, errorf(Refused, fmt.Errorf("host %q", host), "media URL host is not allowed (IPv4-mapped IPv6 address)")
		}
		return d.DialContext(ctx, network, addr)
	}
}

// control is the net.Dialer Control hook: it sees the resolved address of
// every connection attempt before connect(2) and refuses the ones the policy
// forbids. The error travels back through *net.OpError and *url.Error, both of
// which unwrap, to Fetch.
func (f *Fetcher) control(network, address string, _ syscall.RawConn) error {
	if network != "tcp4" && network != "tcp6" {
		return errorf(Refused, fmt.Errorf("network %q", network), "media URL host is not allowed")
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return errorf(Refused, err, "media URL host is not allowed")
	}
	if f.treatAsPublic != nil && f.treatAsPublic(ap) {
		return nil
	}
	c, reason := classify(ap.Addr())
	if c == public || (c == private && f.allowPrivate) {
		return nil
	}
	return errorf(Refused, fmt.Errorf("dial %s: %s", address, reason),
		"media URL host is not allowed (%s)", reason)
}
