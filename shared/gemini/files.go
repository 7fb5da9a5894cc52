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
// large batches: the input JSONL is uploaded with Google's resumable upload protocol in
// chunks, the responses file is downloaded as media, and an uploaded file is deleted once used.
//
//	POST {host}/upload/v1beta/files            X-Goog-Upload-Protocol: resumable
//	                                           X-Goog-Upload-Command: start
//	                                           X-Goog-Upload-Header-Content-Length: <bytes>
//	                                           X-Goog-Upload-Header-Content-Type: <mime type>
//	                                           {"file": {"displayName": "…"}}
//	  → 200, the session URL in X-Goog-Upload-URL (and X-Goog-Upload-Chunk-Granularity)
//	POST <session URL>                         X-Goog-Upload-Command: upload
//	                                           X-Goog-Upload-Offset: <offset>
//	                                           <a chunk: a multiple of the granularity>
//	  → 200, X-Goog-Upload-Status: active
//	POST <session URL>                         X-Goog-Upload-Command: upload, finalize
//	                                           X-Goog-Upload-Offset: <offset>
//	                                           <the last chunk>
//	  → 200 {"file": {"name": "files/…", …}}, X-Goog-Upload-Status: final
//	POST <session URL>                         X-Goog-Upload-Command: query
//	  → 200, X-Goog-Upload-Status, X-Goog-Upload-Size-Received: <bytes the server has>
//	GET {host}/download/v1beta/files/…:download?alt=media → the file's bytes
//	DELETE {host}/v1beta/files/…
//
// The chunked protocol (granularity, query, resuming at the size received) is the one the
// Google Photos Library API documents for its X-Goog-Upload sessions
// (https://developers.google.com/photos/library/guides/resumable-uploads); the chunk loop is
// the one googleapis/python-genai's upload_file runs (8 MiB chunks, the last one "upload,
// finalize").

// DefaultUploadChunk is the chunk size of an upload when Upload.ChunkSize is 0.
const DefaultUploadChunk = 8 << 20

// uploadAttempts bounds the tries of one chunk (each retry resumes where the server is).
const uploadAttempts = 4

// Upload is a file to upload with UploadFile.
type Upload struct {
	DisplayName, MimeType string
	Size                  int64
	// ChunkSize is the bytes sent per request (0: DefaultUploadChunk), rounded up to the
	// granularity the server asks for.
	ChunkSize int64
	// Open returns the file's bytes from offset on; the upload reads it chunk by chunk and opens
	// it again at the server's offset after a failed chunk. It is never held in memory.
	Open func(ctx context.Context, offset int64) (io.ReadCloser, error)
}

// hostRoot is the client's base URL without its API version: "{host}/".
func (c *Client) hostRoot() string {
	root := c.apiRoot()
	return strings.TrimSuffix(root, "v1beta/")
}

// UploadFile uploads u as a new file and returns its name ("files/…"). A chunk that fails in
// transport or with a 5xx, 408 or 429 answer is resumed after the retry policy's backoff: the
// session is asked how many bytes it has (X-Goog-Upload-Command: query) and the upload goes on
// from there.
func (c *Client) UploadFile(ctx context.Context, u Upload) (string, error) {
	if c.o.Backend == Vertex {
		return "", errors.New("gemini: the Files API is a Developer API service")
	}
	if u.Size <= 0 || u.Open == nil {
		return "", errors.New("gemini: an upload needs its size and its bytes")
	}
	meta, err := json.Marshal(map[string]any{"file": map[string]string{"displayName": u.DisplayName}})
	if err != nil {
		return "", err
	}
	start, err := c.raw(ctx, http.MethodPost, c.hostRoot()+"upload/v1beta/files", map[string]string{
		"Content-Type":                        "application/json",
		"X-Goog-Upload-Protocol":              "resumable",
		"X-Goog-Upload-Command":               "start",
		"X-Goog-Upload-Header-Content-Length": strconv.FormatInt(u.Size, 10),
		"X-Goog-Upload-Header-Content-Type":   u.MimeType,
	}, bytes.NewReader(meta), int64(len(meta)))
	if err != nil {
		return "", err
	}
	session := start.Header.Get("X-Goog-Upload-URL")
	chunk := u.ChunkSize
	if chunk <= 0 {
		chunk = DefaultUploadChunk
	}
	if g, err := strconv.ParseInt(start.Header.Get("X-Goog-Upload-Chunk-Granularity"), 10, 64); err == nil && g > 0 {
		chunk = (chunk + g - 1) / g * g
	}
	_, _ = io.Copy(io.Discard, start.Body)
	start.Body.Close()
	if session == "" {
		return "", &MalformedError{Err: errors.New("the upload start answered without X-Goog-Upload-URL")}
	}

	var (
		offset   int64
		rc       io.ReadCloser
		failures int
	)
	defer func() {
		if rc != nil {
			rc.Close()
		}
	}()
	for {
		if rc == nil {
			if rc, err = u.Open(ctx, offset); err != nil {
				return "", err
			}
		}
		n := min(chunk, u.Size-offset)
		cmd := "upload"
		if offset+n == u.Size {
			cmd = "upload, finalize"
		}
		resp, err := c.raw(ctx, http.MethodPost, session, map[string]string{
			"X-Goog-Upload-Command": cmd,
			"X-Goog-Upload-Offset":  strconv.FormatInt(offset, 10),
		}, io.LimitReader(rc, n), n)
		if err == nil {
			if cmd != "upload" {
				return c.uploadedFile(ctx, resp)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			offset += n
			failures = 0
			continue
		}
		if failures++; failures >= uploadAttempts || !resumable(err) || ctx.Err() != nil {
			return "", err
		}
		if serr := c.sleep(ctx, c.backoff(failures)); serr != nil {
			return "", err
		}
		// Where is the server? Resume from there, reading the file again from that offset.
		rc.Close()
		rc = nil
		q, qerr := c.raw(ctx, http.MethodPost, session, map[string]string{"X-Goog-Upload-Command": "query"}, http.NoBody, 0)
		if qerr != nil {
			return "", fmt.Errorf("%w (and asking the upload session where it is: %w)", err, qerr)
		}
		if q.Header.Get("X-Goog-Upload-Status") == "final" {
			return c.uploadedFile(ctx, q)
		}
		got, perr := strconv.ParseInt(q.Header.Get("X-Goog-Upload-Size-Received"), 10, 64)
		_, _ = io.Copy(io.Discard, q.Body)
		q.Body.Close()
		if perr != nil || got < 0 || got > u.Size {
			return "", &MalformedError{Err: fmt.Errorf("the upload query answered X-Goog-Upload-Size-Received %q for %d bytes",
				q.Header.Get("X-Goog-Upload-Size-Received"), u.Size)}
		}
		offset = got
	}
}

// resumable reports whether a failed chunk is worth resuming: a transport failure, or an
// answer that says to come back (5xx, 408, 429).
func resumable(err error) bool {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.HTTPStatus >= 500 || ae.HTTPStatus == http.StatusRequestTimeout || ae.HTTPStatus == http.StatusTooManyRequests
	}
	var te *TransportError
	return errors.As(err, &te)
}

// uploadedFile reads the File a finalized upload answers with.
func (c *Client) uploadedFile(ctx context.Context, resp *http.Response) (string, error) {
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

// DeleteFile deletes file name ("files/…"); a file already gone is not an error.
func (c *Client) DeleteFile(ctx context.Context, name string) error {
	if err := checkFileName(name); err != nil {
		return err
	}
	err := c.Call(ctx, http.MethodDelete, c.ResourceURL(name), nil, true, nil)
	var ae *APIError
	if errors.As(err, &ae) && ae.HTTPStatus == http.StatusNotFound {
		return nil
	}
	return err
}

func checkFileName(name string) error {
	if !strings.HasPrefix(name, "files/") || len(name) == len("files/") || strings.ContainsAny(name[len("files/"):], "/?# ") {
		return fmt.Errorf("gemini: %q is not a file name", name)
	}
	return nil
}

// DownloadFile opens the content of file name ("files/…"); the caller closes it.
func (c *Client) DownloadFile(ctx context.Context, name string) (io.ReadCloser, error) {
	if err := checkFileName(name); err != nil {
		return nil, err
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
