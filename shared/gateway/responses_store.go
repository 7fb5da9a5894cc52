package gateway

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/geminigateway/gateway/shared/openai"
	"github.com/geminigateway/gateway/shared/store"
)

// Stored responses live in the object store, one object per response:
//
//	responses/<sha256 of the key's name, 32 hex>/<response id>.json
//
// The key's hash in the path makes a response visible only to the key that created it: another
// key looks in another folder and gets 404. Each object is written once, with Create (never
// overwritten). It holds the response as the client got it, the request's input items, and the
// conversation so far (earlier turns, this input, and the output with every signature), which
// previous_response_id continues from. Output and input item ids carry their response's id
// (msg_<response>_<n>), so an item_reference finds its response with one read.
//
// The bucket's lifecycle rule (30 days by default) expires them; Terraform owns that rule.

// storedResponse is the stored object.
type storedResponse struct {
	Response *openai.ResponseObject `json:"response"`
	Input    []openai.Item          `json:"input"`
	// Context is the whole conversation through this response's output, signatures included
	// (encrypted_content on reasoning items even when the client did not ask for it).
	Context []openai.Item `json:"context"`
}

// maxStoredBytes bounds a stored response read back: a conversation is bounded by the body
// limit per turn, and this by many turns of it.
const maxStoredBytes = 256 << 20

func keyFolder(key string) string {
	sum := sha256.Sum256([]byte("gateway-key:" + key))
	return hex.EncodeToString(sum[:16])
}

func responseObjectName(key, id string) string {
	return "responses/" + keyFolder(key) + "/" + store.Segment(id) + ".json"
}

// responseBase is the random part of a response id, which its items' ids carry.
func responseBase(id string) string { return strings.TrimPrefix(id, "resp_") }

// responseOfItem returns the response id an item id of ours carries, or "".
func responseOfItem(itemID string) string {
	_, rest, ok := strings.Cut(itemID, "_")
	if !ok {
		return ""
	}
	i := strings.LastIndexByte(rest, '_')
	if i <= 0 {
		return ""
	}
	return "resp_" + rest[:i]
}

// itemIDs returns the item id generator of a response: prefix, the response's base, a serial.
func itemIDs(respID string) func(prefix string) string {
	base, n := responseBase(respID), 0
	return func(prefix string) string {
		n++
		return prefix + base + "_" + strconv.Itoa(n)
	}
}

func notStored(id, param string) *openai.Error {
	return openai.Errorf(http.StatusNotFound, openai.CodeNotFound, param, "Response with id %q not found.", id)
}

func (h *Handler) loadResponse(ctx context.Context, key, id, param string) (*storedResponse, error) {
	if h.o.Store == nil {
		return nil, openai.Errorf(http.StatusBadRequest, openai.CodeNotImplemented, param, "stored responses are not enabled on this gateway")
	}
	if !strings.HasPrefix(id, "resp_") || len(id) > 128 {
		return nil, notStored(id, param)
	}
	b, _, err := store.ReadAll(ctx, h.o.Store, responseObjectName(key, id), maxStoredBytes)
	if errors.Is(err, store.ErrNotExist) {
		return nil, notStored(id, param)
	}
	if err != nil {
		return nil, err
	}
	var sr storedResponse
	if err := json.Unmarshal(b, &sr); err != nil {
		return nil, err
	}
	return &sr, nil
}

// saveResponse writes a response once; an existing object of the same id is an error, never
// overwritten.
func (h *Handler) saveResponse(ctx context.Context, key string, sr *storedResponse) error {
	b, err := json.Marshal(sr)
	if err != nil {
		return err
	}
	return h.o.Store.Create(ctx, responseObjectName(key, sr.Response.ID), bytes.NewReader(b))
}

// withHistory expands a request before translation: previous_response_id's conversation first,
// then the input items with every item_reference replaced by the item it names (looked up in
// this key's stored responses). It returns the input items to store, with ids assigned.
func (h *Handler) withHistory(ctx context.Context, req *openai.ResponsesRequest, key string, newID func(string) string) (input, history []openai.Item, err error) {
	if req.PreviousResponseID != "" {
		prev, err := h.loadResponse(ctx, key, req.PreviousResponseID, "previous_response_id")
		if err != nil {
			return nil, nil, err
		}
		history = prev.Context
	}
	if !req.Input.IsItems {
		input = []openai.Item{{Type: openai.ItemMessage, ID: newID("msg_"), Role: "user", Content: &openai.ItemContent{Text: req.Input.Text}}}
	} else {
		input = make([]openai.Item, len(req.Input.Items))
		cache := map[string]*storedResponse{}
		for i, it := range req.Input.Items {
			if it.Type == openai.ItemReference {
				found, err := h.resolveReference(ctx, key, it.ID, "input["+strconv.Itoa(i)+"].id", cache)
				if err != nil {
					return nil, nil, err
				}
				it = *found
			} else if it.ID == "" {
				it.ID = newID(inputPrefix(&it))
			}
			input[i] = it
		}
	}
	return input, history, nil
}

func inputPrefix(it *openai.Item) string {
	switch it.Type {
	case openai.ItemFunctionCall:
		return "fc_"
	case openai.ItemFunctionCallOutput:
		return "fco_"
	case openai.ItemReasoning:
		return "rs_"
	}
	return "msg_"
}

// resolveReference finds the item id names among the context (and input) of the stored
// response its id carries.
func (h *Handler) resolveReference(ctx context.Context, key, id, param string, cache map[string]*storedResponse) (*openai.Item, error) {
	missing := openai.Errorf(http.StatusNotFound, openai.CodeNotFound, param, "Item with id %q not found.", id)
	rid := responseOfItem(id)
	if rid == "" {
		return nil, missing
	}
	sr := cache[rid]
	if sr == nil {
		var err error
		if sr, err = h.loadResponse(ctx, key, rid, param); err != nil {
			var e *openai.Error
			if errors.As(err, &e) && e.Status == http.StatusNotFound {
				return nil, missing
			}
			return nil, err
		}
		cache[rid] = sr
	}
	for _, list := range [][]openai.Item{sr.Context, sr.Input} {
		for i := range list {
			if list[i].ID == id && list[i].Type != openai.ItemReference {
				return &list[i], nil
			}
		}
	}
	return nil, missing
}

// responseByID serves GET and DELETE /v1/responses/{id} and GET /v1/responses/{id}/input_items.
func (h *Handler) responseByID(w http.ResponseWriter, r *http.Request, rs *reqState) error {
	if _, err := h.authenticate(r, rs); err != nil {
		return err
	}
	rest := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, "/v1"), "/responses/")
	id, sub, _ := strings.Cut(rest, "/")
	switch {
	case sub == "" && r.Method == http.MethodGet:
		sr, err := h.loadResponse(r.Context(), rs.key, id, "")
		if err != nil {
			return err
		}
		return writeResponseObject(w, sr.Response)
	case sub == "" && r.Method == http.MethodDelete:
		if _, err := h.loadResponse(r.Context(), rs.key, id, ""); err != nil {
			return err
		}
		if err := h.o.Store.Delete(r.Context(), responseObjectName(rs.key, id)); err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, openai.DeletedResponse{ID: id, Object: "response", Deleted: true})
	case sub == "input_items" && r.Method == http.MethodGet:
		sr, err := h.loadResponse(r.Context(), rs.key, id, "")
		if err != nil {
			return err
		}
		return h.inputItems(w, r, sr.Input)
	case sub == "" || sub == "input_items":
		allow := "GET, DELETE"
		if sub != "" {
			allow = "GET"
		}
		w.Header().Set("Allow", allow)
		return openai.Errorf(http.StatusMethodNotAllowed, openai.CodeMethodNotAllowed, "", "method %s is not allowed on %s", r.Method, r.URL.Path)
	}
	return notFound(r)
}

// inputItems writes one page of a response's input items: order (desc by default, as OpenAI),
// after (an item id), limit (1 to 100, default 20).
// https://platform.openai.com/docs/api-reference/responses/input-items
func (h *Handler) inputItems(w http.ResponseWriter, r *http.Request, items []openai.Item) error {
	q := r.URL.Query()
	limit := 20
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return openai.InvalidParam("limit", "limit must be an integer between 1 and 100")
		}
		limit = n
	}
	ordered := make([]openai.Item, len(items))
	switch q.Get("order") {
	case "", "desc":
		for i, it := range items {
			ordered[len(items)-1-i] = it
		}
	case "asc":
		copy(ordered, items)
	default:
		return openai.InvalidParam("order", "order must be asc or desc")
	}
	if after := q.Get("after"); after != "" {
		i := 0
		for i < len(ordered) && ordered[i].ID != after {
			i++
		}
		if i == len(ordered) {
			return openai.InvalidParam("after", "no input item with id %q", after)
		}
		ordered = ordered[i+1:]
	}
	page := openai.InputItemList{Object: "list", Data: ordered[:min(limit, len(ordered))], HasMore: len(ordered) > limit}
	if len(page.Data) > 0 {
		page.FirstID, page.LastID = page.Data[0].ID, page.Data[len(page.Data)-1].ID
	}
	return writeJSON(w, http.StatusOK, page)
}

// shiftInputParam renames an error's input[k] for a request whose input was prefixed with n
// items of previous_response_id's conversation: the client's own items are input[k-n], and an
// error in the earlier ones names previous_response_id.
func shiftInputParam(err error, n int) error {
	var e *openai.Error
	if n == 0 || !errors.As(err, &e) {
		return err
	}
	rest, ok := strings.CutPrefix(e.Param, "input[")
	if !ok {
		return err
	}
	num, tail, ok := strings.Cut(rest, "]")
	k, aerr := strconv.Atoi(num)
	if !ok || aerr != nil {
		return err
	}
	c := *e
	if k < n {
		c.Param = "previous_response_id"
	} else {
		c.Param = "input[" + strconv.Itoa(k-n) + "]" + tail
	}
	c.Message = strings.ReplaceAll(c.Message, e.Param, c.Param)
	return &c
}
