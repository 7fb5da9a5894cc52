package media

import (
	"errors"
	"net/url"
)

// Redact returns rawURL without its userinfo, query and fragment, for logs
// and error messages: signed URLs carry their credentials there
// (X-Amz-Signature, GCS's X-Goog-Signature, SAS tokens, ?token=…), and a
// client's URL must never put them in the gateway's logs. What is left,
// scheme, host and path, is enough to tell which URL failed. A URL that does
// not parse is not shown at all.
func Redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "(unparsable URL)"
	}
	u.User = nil
	u.RawQuery, u.ForceQuery = "", false
	u.Fragment, u.RawFragment = "", ""
	if u.Opaque != "" {
		// "http:host?q" style: the opaque part may itself hold anything.
		return u.Scheme + ":…"
	}
	return u.String()
}

// redactCause rewrites the URLs the HTTP client put into err (a *url.Error
// names the URL it failed on, redirects included) so that the cause an
// *Error carries to the logs holds no secret from the query string.
func redactCause(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		ue.URL = Redact(ue.URL)
	}
	return err
}
