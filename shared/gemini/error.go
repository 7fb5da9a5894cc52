package gemini

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// ErrTimeout is the cause of a context cancelled because the upstream took longer than the
// configured upstream timeout (as opposed to the client going away).
var ErrTimeout = errors.New("gemini: upstream timeout")

// APIError is an error response from Gemini: the HTTP status plus the google.rpc.Status body,
// with the RetryInfo and QuotaFailure details decoded.
// https://cloud.google.com/apis/design/errors#error_model
type APIError struct {
	HTTPStatus int
	Code       int
	Status     string // google.rpc code name, e.g. RESOURCE_EXHAUSTED
	Message    string
	// RetryDelay is google.rpc.RetryInfo.retryDelay, or the Retry-After header.
	RetryDelay time.Duration
	// QuotaIDs are the quotaId of each google.rpc.QuotaFailure violation.
	QuotaIDs []string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("gemini: %d %s: %s", e.HTTPStatus, e.Status, e.Message)
}

// PerDay reports whether the error is a daily quota, which no short retry can cure.
func (e *APIError) PerDay() bool {
	for _, id := range e.QuotaIDs {
		if strings.Contains(id, "PerDay") {
			return true
		}
	}
	return false
}

// Retryable reports whether the request may succeed if sent again.
func (e *APIError) Retryable() bool {
	switch e.HTTPStatus {
	case http.StatusTooManyRequests:
		return !e.PerDay()
	case http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

type rpcStatus struct {
	Code    int               `json:"code"`
	Message string            `json:"message"`
	Status  string            `json:"status"`
	Details []json.RawMessage `json:"details"`
}

type rpcDetail struct {
	Type       string `json:"@type"`
	RetryDelay string `json:"retryDelay"`
	Violations []struct {
		QuotaID string `json:"quotaId"`
	} `json:"violations"`
}

// ParseError decodes an error response body. Google sends {"error": Status}, and some fronts
// wrap it in a JSON array; anything else keeps the HTTP status with the body's start as message.
func ParseError(httpStatus int, header http.Header, body []byte) *APIError {
	e := &APIError{HTTPStatus: httpStatus, Code: httpStatus}
	if d, ok := parseRetryAfter(header.Get("Retry-After")); ok {
		e.RetryDelay = d
	}
	trimmed := bytes.TrimSpace(body)
	var st struct {
		Error *rpcStatus `json:"error"`
	}
	var err error
	if len(trimmed) > 0 && trimmed[0] == '[' {
		var arr []struct {
			Error *rpcStatus `json:"error"`
		}
		if err = json.Unmarshal(trimmed, &arr); err == nil && len(arr) > 0 {
			st.Error = arr[0].Error
		}
	} else {
		err = json.Unmarshal(trimmed, &st)
	}
	if err != nil || st.Error == nil {
		e.Status = statusName(httpStatus)
		msg := string(trimmed)
		if len(msg) > 300 {
			msg = msg[:300] + "…"
		}
		if msg == "" {
			msg = http.StatusText(httpStatus)
		}
		e.Message = msg
		return e
	}
	e.Code, e.Status, e.Message = st.Error.Code, st.Error.Status, st.Error.Message
	if e.Status == "" {
		e.Status = statusName(httpStatus)
	}
	for _, raw := range st.Error.Details {
		var d rpcDetail
		if json.Unmarshal(raw, &d) != nil {
			continue
		}
		switch {
		case strings.HasSuffix(d.Type, "google.rpc.RetryInfo"):
			if dur, err := time.ParseDuration(d.RetryDelay); err == nil && dur > 0 {
				e.RetryDelay = dur
			}
		case strings.HasSuffix(d.Type, "google.rpc.QuotaFailure"):
			for _, v := range d.Violations {
				e.QuotaIDs = append(e.QuotaIDs, v.QuotaID)
			}
		}
	}
	return e
}

func parseRetryAfter(v string) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	var secs int
	if _, err := fmt.Sscanf(v, "%d", &secs); err == nil && secs >= 0 {
		return time.Duration(secs) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return time.Until(t), true
	}
	return 0, false
}

// statusName gives the google.rpc code name that goes with an HTTP status.
func statusName(httpStatus int) string {
	switch httpStatus {
	case 400:
		return "INVALID_ARGUMENT"
	case 401:
		return "UNAUTHENTICATED"
	case 403:
		return "PERMISSION_DENIED"
	case 404:
		return "NOT_FOUND"
	case 409:
		return "ABORTED"
	case 429:
		return "RESOURCE_EXHAUSTED"
	case 499:
		return "CANCELLED"
	case 501:
		return "UNIMPLEMENTED"
	case 503:
		return "UNAVAILABLE"
	case 504:
		return "DEADLINE_EXCEEDED"
	}
	if httpStatus >= 500 {
		return "INTERNAL"
	}
	return "UNKNOWN"
}
