package gateway_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	oai "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/geminigateway/gateway/shared/gateway"
	"github.com/geminigateway/gateway/shared/keys"
	"github.com/geminigateway/gateway/shared/store"
)

const otherKey = "sk-other-key-9876543210"

// newFilesGateway is a gateway with a local-folder store and two keys, tester and other; it
// returns the store too, so tests can look at what was written.
func newFilesGateway(t *testing.T, up *upstream, mod func(*gateway.Options)) (*gw, store.Store) {
	t.Helper()
	st, err := store.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	g := newGateway(t, up, func(o *gateway.Options) {
		set, err := keys.ParseList("tester:" + testKey + ",other:" + otherKey)
		if err != nil {
			t.Fatal(err)
		}
		o.Keys = keys.NewStore(set)
		o.Store = st
		if mod != nil {
			mod(o)
		}
	})
	return g, st
}

func (g *gw) otherClient() oai.Client {
	return oai.NewClient(option.WithBaseURL(g.srv.URL+"/v1"), option.WithAPIKey(otherKey), option.WithMaxRetries(0))
}

func upload(t *testing.T, c oai.Client, name, content string) *oai.FileObject {
	t.Helper()
	f, err := c.Files.New(t.Context(), oai.FileNewParams{
		File: oai.File(strings.NewReader(content), name, "application/jsonl"), Purpose: oai.FilePurposeBatch})
	if err != nil {
		t.Fatalf("Files.New: %v", err)
	}
	return f
}

func statusOf(err error) int {
	var ae *oai.Error
	if errors.As(err, &ae) {
		return ae.StatusCode
	}
	return 0
}

// TestFilesLifecycle pins the Files API through the official client: upload, get, content,
// list newest first with after/limit pagination, delete; and that the store holds the file
// under the key's own prefix.
func TestFilesLifecycle(t *testing.T) {
	g, st := newFilesGateway(t, newUpstream(t, jsonResponse(thoughtfulAnswer)), nil)
	ctx := t.Context()
	a := upload(t, g.client, "a.jsonl", "{\"a\":1}\n")
	b := upload(t, g.client, "b.jsonl", "{\"b\":22}\n")
	if a.Object != "file" || a.Purpose != oai.FileObjectPurposeBatch || a.Bytes != 8 || a.Filename != "a.jsonl" || a.CreatedAt == 0 || !strings.HasPrefix(a.ID, "file-") {
		t.Errorf("uploaded file object = %+v", a)
	}
	got, err := g.client.Files.Get(ctx, a.ID)
	if err != nil || got.ID != a.ID || got.Bytes != 8 || got.Filename != "a.jsonl" {
		t.Fatalf("Files.Get = %+v, %v", got, err)
	}
	resp, err := g.client.Files.Content(ctx, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "{\"b\":22}\n" {
		t.Errorf("content = %q", body)
	}
	page, err := g.client.Files.List(ctx, oai.FileListParams{Limit: oai.Int(1)})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Data) != 1 || page.Data[0].ID != b.ID || !page.HasMore {
		t.Fatalf("first page = %+v (has_more %v), want the newest file %s and more", page.Data, page.HasMore, b.ID)
	}
	page, err = g.client.Files.List(ctx, oai.FileListParams{Limit: oai.Int(1), After: oai.String(b.ID)})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Data) != 1 || page.Data[0].ID != a.ID || page.HasMore {
		t.Fatalf("second page = %+v (has_more %v), want %s and no more", page.Data, page.HasMore, a.ID)
	}
	objs, err := st.List(ctx, "files/tester/", "", 0)
	if err != nil || len(objs) != 4 {
		t.Fatalf("store holds %v, %v: want meta and data of two files under files/tester/", objs, err)
	}
	del, err := g.client.Files.Delete(ctx, a.ID)
	if err != nil || !del.Deleted || del.ID != a.ID {
		t.Fatalf("Files.Delete = %+v, %v", del, err)
	}
	if _, err := g.client.Files.Get(ctx, a.ID); statusOf(err) != http.StatusNotFound {
		t.Errorf("Get after delete: %v, want 404", err)
	}
}

// TestFilesBelongToTheirKey pins that another key sees none of a key's files: get, content,
// delete are 404 and its list is empty.
func TestFilesBelongToTheirKey(t *testing.T) {
	g, _ := newFilesGateway(t, newUpstream(t, jsonResponse(thoughtfulAnswer)), nil)
	ctx := t.Context()
	f := upload(t, g.client, "mine.jsonl", "x\n")
	other := g.otherClient()
	if _, err := other.Files.Get(ctx, f.ID); statusOf(err) != http.StatusNotFound {
		t.Errorf("other key Get: %v, want 404", err)
	}
	if _, err := other.Files.Content(ctx, f.ID); statusOf(err) != http.StatusNotFound {
		t.Errorf("other key Content: %v, want 404", err)
	}
	if _, err := other.Files.Delete(ctx, f.ID); statusOf(err) != http.StatusNotFound {
		t.Errorf("other key Delete: %v, want 404", err)
	}
	page, err := other.Files.List(ctx, oai.FileListParams{})
	if err != nil || len(page.Data) != 0 {
		t.Errorf("other key List = %+v, %v; want empty", page, err)
	}
	if _, err := g.client.Files.Get(ctx, f.ID); err != nil {
		t.Errorf("owner Get after the other key's delete: %v", err)
	}
}

// TestFilesBadRequests pins the 4xx answers of the Files API: a wrong purpose, a missing file,
// an unknown form field, an upload over the body limit, a JSON body, a malformed id, and
// files without a store.
func TestFilesBadRequests(t *testing.T) {
	g, st := newFilesGateway(t, newUpstream(t, jsonResponse(thoughtfulAnswer)), func(o *gateway.Options) { o.MaxBodyBytes = 4096 })
	ctx := t.Context()
	_, err := g.client.Files.New(ctx, oai.FileNewParams{File: oai.File(strings.NewReader("x"), "x.jsonl", "text/plain"), Purpose: oai.FilePurposeAssistants})
	var ae *oai.Error
	if !errors.As(err, &ae) || ae.StatusCode != http.StatusBadRequest || ae.Param != "purpose" {
		t.Errorf("purpose assistants: %v", err)
	}
	_, err = g.client.Files.New(ctx, oai.FileNewParams{File: oai.File(bytes.NewReader(make([]byte, 8000)), "big.jsonl", "text/plain"), Purpose: oai.FilePurposeBatch})
	if statusOf(err) != http.StatusRequestEntityTooLarge {
		t.Errorf("upload over the limit: %v, want 413", err)
	}
	if objs, _ := st.List(ctx, "", "", 0); len(objs) != 0 {
		t.Errorf("refused uploads left objects behind: %v", objs)
	}
	for _, c := range []struct {
		name, method, path, ctype, body string
		want                            int
	}{
		{"no file", "POST", "/v1/files", "multipart/form-data; boundary=XX", "--XX\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n--XX--\r\n", 400},
		{"unknown field", "POST", "/v1/files", "multipart/form-data; boundary=XX", "--XX\r\nContent-Disposition: form-data; name=\"expires_after\"\r\n\r\n1\r\n--XX--\r\n", 400},
		{"truncated form", "POST", "/v1/files", "multipart/form-data; boundary=XX", "--XX\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n\r\nabc", 400},
		{"json body", "POST", "/v1/files", "application/json", "{}", 415},
		{"malformed id", "GET", "/v1/files/..%2fmeta", "", "", 404},
		{"id of another kind", "GET", "/v1/files/batch_123", "", "", 404},
		{"bad limit", "GET", "/v1/files?limit=0", "", "", 400},
		{"order asc", "GET", "/v1/files?order=asc", "", "", 400},
		{"put", "PUT", "/v1/files", "", "", 405},
	} {
		req, _ := http.NewRequestWithContext(ctx, c.method, g.srv.URL+c.path, strings.NewReader(c.body))
		req.Header.Set("Authorization", "Bearer "+testKey)
		if c.ctype != "" {
			req.Header.Set("Content-Type", c.ctype)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.want || !bytes.Contains(b, []byte(`"error"`)) {
			t.Errorf("%s: %d %s, want %d with our error body", c.name, resp.StatusCode, b, c.want)
		}
	}
	noStore := newGateway(t, newUpstream(t, jsonResponse(thoughtfulAnswer)), nil)
	if _, err := noStore.client.Files.List(ctx, oai.FileListParams{}); statusOf(err) != http.StatusBadRequest {
		t.Errorf("files without a store: %v, want 400 api_not_implemented", err)
	}
}
