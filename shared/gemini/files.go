package gemini

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// The Developer API's Files API (https://ai.google.dev/api/files), as Batch Mode uses it for
// large batches: the input JSONL is uploaded with Google's resumable upload protocol, and the
// responses file is downloaded as media.
//
//	POST {host}/upload/v1beta/files            X-Goog-Upload-Protocol: resumable
//	                                           X-Goog-Upload-Command: start
//	                                           X-Goog-Upload-Header-Content-Length: <bytes>
//	                                           X-Goog-Upload-Header-Content-Type: <mime type>
//	                                           {"file": {"displayName": "…"}}
//	  → 200, the session URL in X-Goog-Upload-URL
//	POST <session URL>                         X-Goog-Upload-Command: upload, finalize
//	                                           X-Goog-Upload-Offset: 0
//	                                           <the bytes>
//	  → 200 {"file": {"name": "files/…", …}}
//	GET {host}/download/v1beta/files/…:download?alt=media → the file's bytes

// hostRoot is the client's base URL without its API version: "{host}/".
func (c *Client) hostRoot() string {
	root := c.apiRoot()
	return strings.TrimSuffix(root, "v1beta/")
}

// UploadFile uploads size bytes read from body as a new file and returns its name
// ("files/…"). The bytes are streamed from body in one request (the upload's single finalize
// chunk), never held. An upload is not retried: body cannot be read twice.
func (c *Client) UploadFile(ctx context.Context, displayName, mimeType string, size int64, body io.Reader) (string, error) {
	if c.o.Backend == Vertex {
		return "", errors.New("gemini: the Files API is a Developer API service")
	}
	meta, err := json.Marshal(map[string]any{"file": map[string]string{"displayName": displayName}})
	if err != nil {
		return "", err
	}
	start, err := c.raw(ctx, http.MethodPost, c.hostRoot()+"upload/v1beta/files", map[string]string{
		"Content-Type":                        "application/json",
		"X-Goog-Upload-Protocol":              "resumable",
		"X-Goog-Upload-Command":               "start",
		"X-Goog-Upload-Header-Content-Length": strconv.FormatInt(size, 10),
		"X-Goog-Upload-Header-Content-Type":   mimeType,
	}, bytes.NewReader(meta), int64(len(meta)))
	if err != nil {
		return "", err
	}
	session := start.Header.Get("X-Goog-Upload-URL")
	_, _ = io.Copy(io.Discard, start.Body)
	start.Body.Close()
	if session == "" {
		return "", &MalformedError{Err: errors.New("the upload start answered without X-Goog-Upload-URL")}
	}
	resp, err := c.raw(ctx, http.MethodPost, session, map[string]string{
		"X-Goog-Upload-Command": "upload, finalize",
		"X-Goog-Upload-Offset":  "0",
	}, body, size)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var out struct {
		File struct {
			Name string `json:"name"`
		} `json:"file"`
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", c.transportError(ctx, err)
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return "", &MalformedError{Err: err}
	}
	if !strings.HasPrefix(out.File.Name, "files/") {
		return "", &MalformedError{Err: fmt.Errorf("the upload answered with file name %q", out.File.Name)}
	}
	return out.File.Name, nil
}

// DownloadFile opens the content of file name ("files/…"); the caller closes it.
func (c *Client) DownloadFile(ctx context.Context, name string) (io.ReadCloser, error) {
	if !strings.HasPrefix(name, "files/") || strings.ContainsAny(name[len("files/"):], "/?#") {
		return nil, fmt.Errorf("gemini: %q is not a file name", name)
	}
	resp, err := c.raw(ctx, http.MethodGet, c.hostRoot()+"download/v1beta/"+name+":download?alt=media", nil, nil, 0)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// raw sends one request with the client's credentials and extra headers, without retries;
// a non-200 answer is an *APIError.
func (c *Client) raw(ctx context.Context, method, u string, headers map[string]string, body io.Reader, size int64) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.ContentLength = size
		if size == 0 {
			req.Body = http.NoBody
		}
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	return c.do(ctx, req)
}
