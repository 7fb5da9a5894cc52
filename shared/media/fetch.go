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
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Defaults for Options fields left zero.
const (
	DefaultMaxBytes     = 20 << 20
	DefaultTimeout      = 30 * time.Second
	DefaultMaxRedirects = 5
	// DefaultMaxURLs and DefaultMaxTotalBytes bound what one request may make
	// FetchAll fetch. 32 MiB is the gateway's default request body limit: a
	// request that names URLs costs no more memory than one that carries the
	// same media as data URIs.
	DefaultMaxURLs       = 16
	DefaultMaxTotalBytes = 32 << 20
	DefaultConcurrency   = 4
)

const userAgent = "gemini-gateway-media/1"

// sniffLen is how much of a body MIME sniffing looks at: all that
// http.DetectContentType reads.
const sniffLen = 512

// Options configures a Fetcher. The zero value is the production setting.
type Options struct {
	// MaxBytes caps the body size of one URL; 0 means DefaultMaxBytes (20 MiB,
	// Gemini's inline request limit).
	MaxBytes int64
	// MaxURLs caps how many URLs one FetchAll call fetches; 0 means
	// DefaultMaxURLs. A longer list is refused before anything is fetched.
	MaxURLs int
	// MaxTotalBytes caps the bytes one FetchAll call reads, all URLs together;
	// 0 means DefaultMaxTotalBytes. The fetches stop as soon as it is passed.
	MaxTotalBytes int64
	// Concurrency caps the fetches one FetchAll call runs at once; 0 means
	// DefaultConcurrency.
	Concurrency int
	// Timeout caps the whole fetch of one URL (connect, redirects, body); 0
	// means DefaultTimeout.
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

// Fetched is media fetched by FetchAll: its MIME type and its content in
// standard base64, the form Gemini's inlineData.data takes.
type Fetched struct {
	MIMEType string
	Base64   []byte
}

// Fetcher fetches user-supplied media URLs. It is safe for concurrent use and
// meant to be built once and shared, so that connections are reused.
type Fetcher struct {
	client       *http.Client
	maxBytes     int64
	maxURLs      int
	maxTotal     int64
	concurrency  int
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
		maxURLs:      opts.MaxURLs,
		maxTotal:     opts.MaxTotalBytes,
		concurrency:  opts.Concurrency,
		timeout:      opts.Timeout,
		maxRedirects: opts.MaxRedirects,
		allowPrivate: opts.AllowPrivate,
	}
	if f.maxBytes <= 0 {
		f.maxBytes = DefaultMaxBytes
	}
	if f.maxURLs <= 0 {
		f.maxURLs = DefaultMaxURLs
	}
	if f.maxTotal <= 0 {
		f.maxTotal = DefaultMaxTotalBytes
	}
	if f.concurrency <= 0 {
		f.concurrency = DefaultConcurrency
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
	var buf bytes.Buffer
	mt, err := f.fetch(ctx, rawURL, nil, func(size int64) io.Writer {
		if size > 0 {
			// Room for the whole declared body, so that an honest server
			// causes no reallocation.
			buf.Grow(int(size))
		}
		return &buf
	})
	if err != nil {
		return Media{}, err
	}
	return Media{MIMEType: mt, Data: buf.Bytes()}, nil
}

// FetchAll fetches the media of one request: urls, at most Concurrency at a
// time, within the request's budgets. More than MaxURLs URLs are refused
// before anything is fetched; the bytes read from all URLs together are
// counted as they arrive, and every fetch stops once they pass MaxTotalBytes.
// Each body is encoded to base64 as it streams in, so neither its raw bytes
// nor a second copy are ever held. The first failure cancels the other
// fetches, and no fetch starts once ctx is done. Results are in the order of
// urls. Every error is an *Error; one about a single URL has URL and Index
// set.
func (f *Fetcher) FetchAll(ctx context.Context, urls []string) ([]Fetched, error) {
	if len(urls) == 0 {
		return nil, nil
	}
	if len(urls) > f.maxURLs {
		return nil, errorf(OverBudget, nil, "the request has %d media URLs to fetch, more than the limit of %d per request", len(urls), f.maxURLs)
	}
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	b := &budget{limit: f.maxTotal}
	b.left.Store(f.maxTotal)

	out := make([]Fetched, len(urls))
	sem := make(chan struct{}, f.concurrency)
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first *Error
	)
	for i, u := range urls {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break // failed, or the client left: start nothing more
		}
		wg.Go(func() {
			defer func() { <-sem }()
			fd, err := f.fetchBase64(ctx, u, b)
			if err != nil {
				err.Index = i
				once.Do(func() {
					first = err
					cancel()
				})
				return
			}
			out[i] = fd
		})
	}
	wg.Wait()
	if first != nil {
		if first.Kind == Canceled && parent.Err() != nil {
			first.Cause = parent.Err()
		}
		return nil, first
	}
	if err := parent.Err(); err != nil {
		return nil, errorf(Canceled, err, "fetching the media URLs was cancelled")
	}
	return out, nil
}

// fetchBase64 fetches rawURL into its base64 form, counting the raw bytes
// against b.
func (f *Fetcher) fetchBase64(ctx context.Context, rawURL string, b *budget) (Fetched, *Error) {
	var out appender
	var enc io.WriteCloser
	mt, err := f.fetch(ctx, rawURL, b, func(size int64) io.Writer {
		if size > 0 {
			// Exactly the encoded size: one allocation for an honest server.
			out = make(appender, 0, base64.StdEncoding.EncodedLen(int(size)))
		}
		enc = base64.NewEncoder(base64.StdEncoding, &out)
		return enc
	})
	if err != nil {
		return Fetched{}, err
	}
	_ = enc.Close() // writes the last partial quantum; cannot fail
	return Fetched{MIMEType: mt, Base64: out}, nil
}

// appender is an io.Writer that appends to itself. Unlike bytes.Buffer.Grow,
// making it with the exact capacity allocates exactly that.
type appender []byte

func (a *appender) Write(p []byte) (int, error) {
	*a = append(*a, p...)
	return len(p), nil
}

// budget is the bytes a FetchAll call may still read, shared by its fetches.
type budget struct {
	left  atomic.Int64
	limit int64
}

// take counts n more bytes read and reports whether the budget still holds.
func (b *budget) take(n int64) bool { return b.left.Add(-n) >= 0 }

func (b *budget) exceeded() *Error {
	return errorf(OverBudget, nil, "the media URLs of this request add up to more than the limit of %d bytes per request", b.limit)
}

// fetch downloads rawURL into the writer that newDst returns for the declared
// body length (-1 when unknown), counting every byte against b when b is not
// nil, and returns the MIME type. The error is nil or an *Error whose URL and
// cause are redacted.
func (f *Fetcher) fetch(ctx context.Context, rawURL string, b *budget, newDst func(size int64) io.Writer) (string, *Error) {
	mt, err := f.get(ctx, rawURL, b, newDst)
	if err != nil {
		err.URL = Redact(rawURL)
		if err.Cause != nil {
			err.Cause = redactCause(err.Cause)
		}
		return "", err
	}
	return mt, nil
}

func (f *Fetcher) get(ctx context.Context, rawURL string, b *budget, newDst func(size int64) io.Writer) (string, *Error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", errorf(Invalid, err, "media URL is not a valid URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", errorf(Invalid, nil, "media URL must be http or https, not %q", u.Scheme)
	}
	if u.Hostname() == "" {
		return "", errorf(Invalid, nil, "media URL has no host")
	}

	fetchCtx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(fetchCtx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", errorf(Invalid, err, "media URL is not a valid URL")
	}
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set("Accept", "*/*")

	resp, err := f.client.Do(req)
	if err != nil {
		return "", f.failure(ctx, fetchCtx, err)
	}
	defer resp.Body.Close()

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e := errorf(FetchFailed, nil, "fetching the media URL failed: the server answered HTTP %d", resp.StatusCode)
		e.Status = resp.StatusCode
		return "", e
	}
	if resp.ContentLength > f.maxBytes {
		// Refuse before reading a byte of the body.
		return "", f.tooLarge(fmt.Errorf("declared Content-Length %d", resp.ContentLength))
	}
	counted := b
	if b != nil && resp.ContentLength >= 0 {
		// A declared length is taken from the budget before reading: the client reads
		// exactly that many bytes or fails, so nothing more needs counting.
		if !b.take(resp.ContentLength) {
			return "", b.exceeded()
		}
		counted = nil
	}
	head, n, err := f.copyBody(newDst(resp.ContentLength), resp.Body, counted)
	if err != nil {
		var me *Error
		if errors.As(err, &me) {
			return "", me
		}
		return "", f.failure(ctx, fetchCtx, err)
	}

	if n == 0 {
		return "", errorf(FetchFailed, nil, "fetching the media URL failed: the server answered HTTP %d with an empty body", resp.StatusCode)
	}
	paths := []string{resp.Request.URL.Path, u.Path}
	mt, err := detectMIME(resp.Header.Get("Content-Type"), paths, head)
	if err != nil {
		var me *Error
		errors.As(err, &me)
		return "", me
	}
	return mt, nil
}

// copyBody copies body to dst through one small buffer, stopping as soon as
// it passes maxBytes or the budget, and returns the first sniffLen bytes (for
// MIME sniffing) and the byte count.
func (f *Fetcher) copyBody(dst io.Writer, body io.Reader, b *budget) ([]byte, int64, error) {
	buf := make([]byte, 32<<10)
	head := make([]byte, 0, sniffLen)
	var n int64
	for {
		k, rerr := body.Read(buf)
		if k > 0 {
			n += int64(k)
			if n > f.maxBytes {
				return nil, n, f.tooLarge(errors.New("body exceeded the limit while streaming"))
			}
			if b != nil && !b.take(int64(k)) {
				return nil, n, b.exceeded()
			}
			if len(head) < sniffLen {
				head = append(head, buf[:min(k, sniffLen-len(head))]...)
			}
			if _, err := dst.Write(buf[:k]); err != nil {
				return nil, n, err
			}
		}
		if rerr == io.EOF {
			return head, n, nil
		}
		if rerr != nil {
			return nil, n, rerr
		}
	}
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
		return errorf(Timeout, err, "the media could not be fetched in time: the server did not deliver it within %s", f.timeout)
	}
	if parent.Err() != nil {
		// The caller went away or its own deadline passed; Unwrap exposes which.
		return errorf(Canceled, parent.Err(), "fetching the media URL was cancelled")
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
