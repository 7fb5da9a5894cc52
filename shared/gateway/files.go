package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/geminigateway/gateway/shared/keys"
	"github.com/geminigateway/gateway/shared/openai"
	"github.com/geminigateway/gateway/shared/store"
)

// The Files API (https://platform.openai.com/docs/api-reference/files) on the object store.
// Every object of a key lives under a prefix named after the key (escaped with store.Segment),
// so another key's request finds nothing there and gets 404:
//
//	files/<key>/meta/<file id>.json   the file object
//	files/<key>/data/<file id>        the content
//
// File ids sort newest first (see sortedID), so listing the store in name order lists files in
// OpenAI's default order, created_at descending.

// owner is the store prefix segment of the key's objects; "_" when client auth is off.
func owner(k *keys.Key) string {
	if k == nil {
		return "_"
	}
	return store.Segment(k.Name)
}

func fileMetaName(own, id string) string { return "files/" + own + "/meta/" + id + ".json" }
func fileDataName(own, id string) string { return "files/" + own + "/data/" + id }

// sortedID returns prefix, a 12-character base-36 countdown from now (so that later ids sort
// first) and 12 random base-36 characters. The countdown makes the store's name order the
// newest-first order that OpenAI lists in.
func sortedID(prefix string, now time.Time) string {
	const epochEnd = int64(1) << 62 // year 2116 in nanoseconds
	down := strconv.FormatInt(epochEnd-now.UnixNano(), 36)
	b := make([]byte, 0, len(prefix)+24)
	b = append(b, prefix...)
	for range 12 - len(down) {
		b = append(b, '0')
	}
	b = append(b, down...)
	r := strconv.FormatUint(rand.Uint64()|1<<63, 36) // 13 characters
	return string(append(b, r[1:]...))
}

// validID reports whether id has prefix and only the characters sortedID produces, so that an
// id taken from a path never addresses another object.
func validID(id, prefix string) bool {
	rest, ok := strings.CutPrefix(id, prefix)
	if !ok || len(rest) == 0 || len(rest) > 64 {
		return false
	}
	for i := range len(rest) {
		if c := rest[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z') {
			return false
		}
	}
	return true
}

// needStore is the error of a files or batches route when no object store is configured.
func (h *Handler) needStore() error {
	if h.o.Store != nil {
		return nil
	}
	return openai.NotImplemented("", "files and batches need the gateway's object store, which this deployment does not configure")
}

// filesRoute serves /v1/files and everything below it. rest is the path after "/files".
func (h *Handler) filesRoute(w http.ResponseWriter, r *http.Request, rs *reqState, rest string) error {
	switch {
	case rest == "":
		return h.only(w, r, rs, func(w http.ResponseWriter, r *http.Request, rs *reqState) error {
			if r.Method == http.MethodPost {
				return h.uploadFile(w, r, rs)
			}
			return h.listFiles(w, r, rs)
		}, http.MethodPost, http.MethodGet)
	case strings.HasSuffix(rest, "/content") && strings.Count(rest, "/") == 2:
		id := strings.TrimSuffix(rest[1:], "/content")
		return h.only(w, r, rs, func(w http.ResponseWriter, r *http.Request, rs *reqState) error {
			return h.fileContent(w, r, rs, id)
		}, http.MethodGet)
	case strings.Count(rest, "/") == 1:
		id := rest[1:]
		return h.only(w, r, rs, func(w http.ResponseWriter, r *http.Request, rs *reqState) error {
			if r.Method == http.MethodDelete {
				return h.deleteFile(w, r, rs, id)
			}
			return h.getFile(w, r, rs, id)
		}, http.MethodGet, http.MethodDelete)
	}
	return notFound(r)
}

// fileNotFound is the 404 of a file id that this key has no file under.
func fileNotFound(id string) error {
	return openai.Errorf(http.StatusNotFound, openai.CodeNotFound, "file_id", "No such File object: %s", id)
}

// maxPurposeBytes bounds the form fields other than the file.
const maxPurposeBytes = 256

// uploadFile serves POST /v1/files: a multipart form with the fields "file" and "purpose". The
// file is streamed into the store, never held: the request body limit bounds it, and larger
// inputs go straight into the bucket (README). Only purpose "batch" is accepted.
func (h *Handler) uploadFile(w http.ResponseWriter, r *http.Request, rs *reqState) error {
	key, err := h.authenticate(r, rs)
	if err != nil {
		return err
	}
	if err := h.needStore(); err != nil {
		return err
	}
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return openai.Errorf(http.StatusUnsupportedMediaType, openai.CodeUnsupportedMedia, "",
			"POST /v1/files takes a multipart/form-data body with the fields file and purpose")
	}
	if r.ContentLength > h.o.MaxBodyBytes {
		return tooLarge(h.o.MaxBodyBytes)
	}
	r.Body = http.MaxBytesReader(w, r.Body, h.o.MaxBodyBytes)
	mr, err := r.MultipartReader()
	if err != nil {
		return openai.InvalidParam("", "the multipart body cannot be read: %v", err)
	}
	own, now := owner(key), h.o.Now()
	f := openai.FileObject{ID: sortedID("file-", now), Object: "file", CreatedAt: now.Unix(), Status: "processed"}
	stored := false
	// Until the file object is written, a failure removes the stored content.
	defer func() {
		if stored && f.Bytes < 0 {
			_ = h.o.Store.Delete(context.WithoutCancel(r.Context()), fileDataName(own, f.ID))
		}
	}()
	fail := func(err error) error { f.Bytes = -1; return err }
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fail(uploadError(err, h.o.MaxBodyBytes))
		}
		switch name := part.FormName(); name {
		case "file":
			if stored {
				return fail(openai.InvalidParam("file", "the form has more than one file field"))
			}
			f.Filename = part.FileName()
			cr := &countingReader{r: part}
			if err := h.o.Store.Create(r.Context(), fileDataName(own, f.ID), cr); err != nil {
				if cr.err != nil && !errors.Is(cr.err, io.EOF) {
					err = uploadError(cr.err, h.o.MaxBodyBytes) // the client's body, not the store
				}
				return fail(err)
			}
			stored, f.Bytes = true, cr.n
		case "purpose":
			b, err := io.ReadAll(io.LimitReader(part, maxPurposeBytes+1))
			if err != nil {
				return fail(uploadError(err, h.o.MaxBodyBytes))
			}
			f.Purpose = string(b)
		default:
			return fail(openai.InvalidParam(name, "unknown form field %q: POST /v1/files takes file and purpose", name))
		}
	}
	switch {
	case !stored:
		return fail(openai.InvalidParam("file", "the form has no file field"))
	case f.Purpose != openai.PurposeBatch:
		return fail(openai.InvalidParam("purpose", "purpose must be %q (the only purpose this gateway stores), not %q", openai.PurposeBatch, f.Purpose))
	case f.Filename == "":
		f.Filename = "upload.jsonl"
	}
	if err := h.putJSON(r.Context(), fileMetaName(own, f.ID), f); err != nil {
		return fail(err)
	}
	return writeJSON(w, http.StatusOK, f)
}

// uploadError maps a failure reading the upload: the body limit is 413, anything else is a
// malformed body (400).
func uploadError(err error, limit int64) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return tooLarge(limit)
	}
	return openai.InvalidParam("file", "the multipart body is malformed: %v", err)
}

// countingReader counts the bytes read through it and keeps the read error, so that a failed
// store write can tell the client's broken body from the store's own failure.
type countingReader struct {
	r   io.Reader
	n   int64
	err error
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err != nil {
		c.err = err
	}
	return n, err
}

// putJSON writes v as a new object (create-only).
func (h *Handler) putJSON(ctx context.Context, name string, v any) error {
	b, err := marshal(v)
	if err != nil {
		return err
	}
	return h.o.Store.Create(ctx, name, bytes.NewReader(b))
}

// maxMetaBytes bounds the JSON objects the gateway keeps in the store (file and batch objects).
const maxMetaBytes = 1 << 20

// getJSON reads a JSON object from the store into v and returns its attributes.
func (h *Handler) getJSON(ctx context.Context, name string, v any) (store.Object, error) {
	b, obj, err := store.ReadAll(ctx, h.o.Store, name, maxMetaBytes)
	if err != nil {
		return obj, err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return obj, fmt.Errorf("%s: %w", name, err)
	}
	return obj, nil
}

// file reads the key's file object id; a missing one (or another key's) is 404.
func (h *Handler) file(ctx context.Context, own, id string) (*openai.FileObject, error) {
	if !validID(id, "file-") {
		return nil, fileNotFound(id)
	}
	var f openai.FileObject
	if _, err := h.getJSON(ctx, fileMetaName(own, id), &f); err != nil {
		if errors.Is(err, store.ErrNotExist) {
			return nil, fileNotFound(id)
		}
		return nil, err
	}
	return &f, nil
}

// ownFile authenticates the request and finds file id among its key's files: the start of
// every route on one file. It returns the key's owner segment and the file object.
func (h *Handler) ownFile(r *http.Request, rs *reqState, id string) (string, *openai.FileObject, error) {
	key, err := h.authenticate(r, rs)
	if err != nil {
		return "", nil, err
	}
	if err := h.needStore(); err != nil {
		return "", nil, err
	}
	own := owner(key)
	f, err := h.file(r.Context(), own, id)
	return own, f, err
}

// getFile serves GET /v1/files/{id}.
func (h *Handler) getFile(w http.ResponseWriter, r *http.Request, rs *reqState, id string) error {
	_, f, err := h.ownFile(r, rs, id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, f)
}

// fileContent serves GET /v1/files/{id}/content, streamed from the store.
func (h *Handler) fileContent(w http.ResponseWriter, r *http.Request, rs *reqState, id string) error {
	own, _, err := h.ownFile(r, rs, id)
	if err != nil {
		return err
	}
	rc, obj, err := h.o.Store.Open(r.Context(), fileDataName(own, id))
	if errors.Is(err, store.ErrNotExist) {
		return fileNotFound(id)
	}
	if err != nil {
		return err
	}
	defer rc.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.FormatInt(obj.Size, 10))
	w.WriteHeader(http.StatusOK)
	_, err = io.Copy(w, rc)
	return err
}

// deleteFile serves DELETE /v1/files/{id}: the content first, then the file object, so that a
// file that lists is never one without content for long.
func (h *Handler) deleteFile(w http.ResponseWriter, r *http.Request, rs *reqState, id string) error {
	own, _, err := h.ownFile(r, rs, id)
	if err != nil {
		return err
	}
	if err := h.o.Store.Delete(r.Context(), fileDataName(own, id)); err != nil {
		return err
	}
	if err := h.o.Store.Delete(r.Context(), fileMetaName(own, id)); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, openai.FileDeleted{ID: id, Object: "file", Deleted: true})
}

// listParams are the pagination parameters of a list route: after (an id), limit, order.
type listParams struct {
	after string
	limit int
}

// parseList reads after, limit (1..max, default def) and order (only "desc", the default,
// since the store lists in one order).
func parseList(r *http.Request, prefix string, def, maxLimit int) (listParams, error) {
	q := r.URL.Query()
	p := listParams{after: q.Get("after"), limit: def}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxLimit {
			return p, openai.InvalidParam("limit", "limit must be an integer from 1 to %d, not %q", maxLimit, v)
		}
		p.limit = n
	}
	if o := q.Get("order"); o != "" && o != "desc" {
		return p, openai.InvalidParam("order", "order %q is not supported: lists are newest first (desc)", o)
	}
	if p.after != "" && !validID(p.after, prefix) {
		return p, openai.InvalidParam("after", "after must be an id from a previous list, not %q", p.after)
	}
	return p, nil
}

// listFiles serves GET /v1/files: the key's files, newest first, after/limit paginated and
// optionally of one purpose.
func (h *Handler) listFiles(w http.ResponseWriter, r *http.Request, rs *reqState) error {
	key, err := h.authenticate(r, rs)
	if err != nil {
		return err
	}
	if err := h.needStore(); err != nil {
		return err
	}
	p, err := parseList(r, "file-", 10000, 10000)
	if err != nil {
		return err
	}
	purpose := r.URL.Query().Get("purpose")
	own := owner(key)
	prefix := "files/" + own + "/meta/"
	after := ""
	if p.after != "" {
		after = fileMetaName(own, p.after)
	}
	list := openai.FileList{Object: "list", Data: []openai.FileObject{}}
	for len(list.Data) <= p.limit {
		objs, err := h.o.Store.List(r.Context(), prefix, after, min(p.limit+1, 1000))
		if err != nil {
			return err
		}
		for _, o := range objs {
			after = o.Name
			var f openai.FileObject
			if _, err := h.getJSON(r.Context(), o.Name, &f); err != nil {
				if errors.Is(err, store.ErrNotExist) {
					continue // deleted meanwhile
				}
				return err
			}
			if purpose == "" || f.Purpose == purpose {
				list.Data = append(list.Data, f)
			}
		}
		if len(objs) < min(p.limit+1, 1000) {
			break
		}
	}
	if len(list.Data) > p.limit {
		list.Data, list.HasMore = list.Data[:p.limit], true
	}
	if n := len(list.Data); n > 0 {
		list.FirstID, list.LastID = list.Data[0].ID, list.Data[n-1].ID
	}
	return writeJSON(w, http.StatusOK, list)
}
