package gemini

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// The batch engines' calls (Vertex AI batchPredictionJobs, Gemini API Batch Mode) go through
// the same machinery as generateContent: auth, retries and error decoding.

// apiRoot is the API version root of the client's base URL: "{host}/v1/" on Vertex,
// "{host}/v1beta/" on the Developer API and the emulator.
func (c *Client) apiRoot() string {
	if c.o.Backend == Vertex {
		i := strings.Index(c.base, "/v1/projects/")
		return c.base[:i+len("/v1/")]
	}
	return strings.TrimSuffix(c.base, "models/")
}

// ResourceURL is the URL of a resource by its full name: "batches/123" on the Developer API,
// "projects/p/locations/l/batchPredictionJobs/123" on Vertex.
func (c *Client) ResourceURL(name string) string { return c.apiRoot() + name }

// ParentURL is the URL of a collection under the client's parent: the project and location on
// Vertex ("…/v1/projects/p/locations/l/batchPredictionJobs"), the API root on the Developer API.
func (c *Client) ParentURL(collection string) string {
	if c.o.Backend == Vertex {
		return strings.TrimSuffix(c.base, "publishers/google/models/") + collection
	}
	return c.apiRoot() + collection
}

// Project returns the Vertex project and location the client calls.
func (c *Client) Project() (project, location string) { return c.o.Project, c.o.Location }

// Call sends a JSON request (body nil for none) and decodes the 200 answer into out (when not
// nil). A create (idempotent false) is not retried after a connection failure; an error answer
// is an *APIError as for generateContent.
func (c *Client) Call(ctx context.Context, method, u string, body []byte, idempotent bool, out any) error {
	ctx, cancel := context.WithTimeoutCause(ctx, c.o.Timeout, ErrTimeout)
	defer cancel()
	resp, err := c.sendMethod(ctx, method, u, body, time.Time{}, idempotent)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		return c.transportError(ctx, err)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(buf.Bytes(), out); err != nil {
		return &MalformedError{Err: err}
	}
	return nil
}

// Get is Call with GET and no body.
func (c *Client) Get(ctx context.Context, u string, out any) error {
	return c.Call(ctx, http.MethodGet, u, nil, true, out)
}
