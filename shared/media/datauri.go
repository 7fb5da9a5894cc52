package media

import "strings"

// maxDataURIHeader bounds the "<mime>;params;base64" part of a data URI. Real
// headers are a few dozen bytes; the bound keeps a malformed URI from being
// parsed as a megabyte of parameters.
const maxDataURIHeader = 256

// ParseDataURI splits a data URI of the form data:<mime>[;param=value…];base64,<data>
// into its lower-cased MIME type and its base64 text. The base64 is returned as
// a substring of s, neither decoded nor copied: Gemini's inlineData.data takes
// base64 as is, so a multi-megabyte image passes through without a second copy.
// The alphabet and padding of the data are checked (standard or URL-safe, as
// proto3 JSON accepts for bytes fields); parameters such as charset or name are
// validated and dropped. Data URIs that are not base64 ("data:text/plain,hi")
// and URIs without a MIME type are refused: there is no safe default type.
// Every error is an *Error of kind Invalid.
func ParseDataURI(s string) (mimeType, b64 string, err error) {
	if len(s) < len("data:") || !strings.EqualFold(s[:len("data:")], "data:") {
		return "", "", errorf(Invalid, nil, "not a data URI (want data:<mime type>;base64,<data>)")
	}
	rest := s[len("data:"):]
	comma := strings.IndexByte(rest, ',')
	if comma < 0 || comma > maxDataURIHeader {
		return "", "", errorf(Invalid, nil, "malformed data URI: no ',' after the media type")
	}
	header, data := rest[:comma], rest[comma+1:]

	semi := strings.LastIndexByte(header, ';')
	if semi < 0 || !strings.EqualFold(header[semi+1:], "base64") {
		return "", "", errorf(Invalid, nil, "data URI must be base64-encoded (data:<mime type>;base64,<data>)")
	}
	header = header[:semi]
	mt := header
	if i := strings.IndexByte(header, ';'); i >= 0 {
		mt = header[:i]
		if !validParams(header[i+1:]) {
			return "", "", errorf(Invalid, nil, "malformed data URI: bad parameter in the media type")
		}
	}
	if !validMediaType(mt) {
		return "", "", errorf(Invalid, nil, "malformed data URI: missing or invalid media type")
	}
	if !validBase64(data) {
		return "", "", errorf(Invalid, nil, "malformed data URI: the data is not valid base64")
	}
	return normalize(mt), data, nil
}

// validMediaType reports whether s is type "/" subtype, both RFC 2045 tokens.
func validMediaType(s string) bool {
	slash := strings.IndexByte(s, '/')
	return slash > 0 && isToken(s[:slash]) && isToken(s[slash+1:])
}

// validParams reports whether s is a ';'-separated list of token=value pairs,
// where value is a token or a quoted string without ';' or ','.
func validParams(s string) bool {
	for p := range strings.SplitSeq(s, ";") {
		name, value, ok := strings.Cut(p, "=")
		if !ok || !isToken(name) || value == "" {
			return false
		}
		if len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"' {
			if strings.ContainsAny(value[1:len(value)-1], "\"\\") {
				return false
			}
			continue
		}
		if !isToken(value) {
			return false
		}
	}
	return true
}

// isToken reports whether s is a non-empty RFC 2045 token.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?=`, c) >= 0 {
			return false
		}
	}
	return true
}

// base64Alphabet marks the bytes of the standard and URL-safe alphabets.
var base64Alphabet = func() (t [256]bool) {
	for _, c := range "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_" {
		t[c] = true
	}
	return t
}()

// validBase64 reports whether s is non-empty base64 with at most two '='
// of padding at the end, and a length that some encoding could produce.
// It does not allocate.
func validBase64(s string) bool {
	n := len(s)
	if n == 0 {
		return false
	}
	pad := 0
	for pad < 2 && n-pad > 0 && s[n-pad-1] == '=' {
		pad++
	}
	if pad > 0 && n%4 != 0 {
		return false
	}
	if pad == 0 && n%4 == 1 {
		return false
	}
	body := s[:n-pad]
	if body == "" {
		return false
	}
	for i := 0; i < len(body); i++ {
		if !base64Alphabet[body[i]] {
			return false
		}
	}
	return true
}
