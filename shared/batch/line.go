package batch

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"unicode/utf8"

	"github.com/geminigateway/gateway/shared/openai"
)

// The line formats are OpenAI's, one definition in shared/openai: an input line
// (https://platform.openai.com/docs/api-reference/batch/request-input; custom_id is raw so that a
// line with another bad field still reports its custom_id) and an output line
// (https://platform.openai.com/docs/api-reference/batch/request-output; a line with a non-nil
// Error goes to the errors file, the others to the output file; Line is the 1-based input line
// of a malformed line, left out otherwise).
type (
	request   = openai.BatchInputLine
	result    = openai.BatchOutputLine
	response  = openai.BatchResponse
	lineError = openai.BatchLineError
)

// chatURLs are the request URLs a line may name: the routes the gateway serves chat
// completions on (DESIGN §2).
var chatURLs = map[string]bool{
	"/v1/chat/completions":     true,
	"/chat/completions":        true,
	"/gemini/chat/completions": true,
}

// embeddingURLs are the request URLs of embeddings lines, run through an Embedder.
var embeddingURLs = map[string]bool{
	"/v1/embeddings": true,
	"/embeddings":    true,
}

// maxCustomIDLen bounds custom_id: it becomes part of an object name for queue messages, and
// object names are at most 1024 bytes in both Cloud Storage and S3.
const maxCustomIDLen = 512

// job is one parsed input line: either a request to run (body set) or a finished result
// (a malformed or refused line).
type job struct {
	n        int    // 1-based line number; 0 for a queue message
	id       string // the output line's id
	customID string
	body     []byte
	embed    bool // an embeddings line (url /v1/embeddings)
	done     *result
}

// parseLine parses raw (one line, without its newline) into a job. key identifies the input
// (file name and content, or message content) so that ids are deterministic. A malformed line
// yields a job that is already done, with an invalid_request error naming the line.
func parseLine(key []byte, n int, raw []byte) job {
	j := job{n: n, id: lineID(key, n)}
	if len(raw) == 0 || raw[0] != '{' {
		return j.invalid("the line is not a JSON object")
	}
	var req request
	err := json.Unmarshal(raw, &req)
	var typeErr *json.UnmarshalTypeError
	if err != nil && !errors.As(err, &typeErr) {
		return j.invalid("the line is not a JSON object: %v", err)
	}
	// A type error leaves the other fields decoded: report the custom_id when there is one.
	if msg := j.setCustomID(req.CustomID); msg != "" {
		return j.invalid("%s", msg)
	}
	switch {
	case err != nil:
		return j.invalid("%s must be a %s, not a JSON %s", typeErr.Field, typeErr.Type, typeErr.Value)
	case req.Method != http.MethodPost:
		return j.invalid("method must be \"POST\", not %q", req.Method)
	case !chatURLs[req.URL] && !embeddingURLs[req.URL]:
		return j.invalid("url must be \"/v1/chat/completions\" or \"/v1/embeddings\", not %q", req.URL)
	}
	j.embed = embeddingURLs[req.URL]
	body := bytes.TrimSpace(req.Body)
	if len(body) == 0 || body[0] != '{' {
		return j.invalid("body must be a JSON object with the request")
	}
	if !j.embed && streams(body) {
		// A batch result is one JSON body; the gateway refuses this too, but a 400 here costs
		// no call. Same status, code and message as the gateway's.
		e := openai.InvalidParam("stream", "stream: true is not supported in batch jobs")
		j.done = j.failed(Completion{Status: e.Status, Body: e.MarshalBody(j.id), RequestID: j.id, Err: e})
		return j
	}
	j.body = body
	return j
}

// setCustomID validates and sets the custom_id; it returns a message when it is unusable.
func (j *job) setCustomID(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return "custom_id is missing"
	}
	var id string
	if err := json.Unmarshal(raw, &id); err != nil {
		return "custom_id must be a string"
	}
	switch {
	case id == "":
		return "custom_id is empty"
	case len(id) > maxCustomIDLen:
		return fmt.Sprintf("custom_id is longer than %d bytes", maxCustomIDLen)
	case !utf8.ValidString(id):
		return "custom_id is not valid UTF-8"
	}
	for _, r := range id {
		if r < 0x20 || r == 0x7f {
			return "custom_id contains a control character"
		}
	}
	j.customID = id
	return ""
}

// streams reports whether a request body asks for "stream": true.
func streams(body []byte) bool {
	if !bytes.Contains(body, []byte(`"stream"`)) { // skip the parse for nearly every line
		return false
	}
	var v struct {
		Stream json.RawMessage `json:"stream"`
	}
	return json.Unmarshal(body, &v) == nil && string(v.Stream) == "true"
}

// invalid marks j as a malformed line.
func (j job) invalid(format string, args ...any) job {
	msg := fmt.Sprintf(format, args...)
	if j.n > 0 {
		msg = "line " + strconv.Itoa(j.n) + ": " + msg
	}
	j.done = &result{ID: j.id, CustomID: j.customIDPtr(),
		Error: &lineError{Code: openai.CodeInvalidRequest, Message: msg, Line: j.n}}
	return j
}

func (j *job) customIDPtr() *string {
	if j.customID == "" {
		return nil
	}
	id := j.customID
	return &id
}

// failed is the result of a request the gateway answered with an error status: the response
// is kept whole, and the error repeats its code and message for readers of the errors file.
func (j *job) failed(c Completion) *result {
	code, msg := fallbackCode(c.Status), http.StatusText(c.Status)
	if c.Err != nil {
		code, msg = c.Err.Code, c.Err.Message
	}
	return &result{ID: j.id, CustomID: j.customIDPtr(),
		Response: &response{StatusCode: c.Status, RequestID: c.RequestID, Body: c.Body},
		Error:    &lineError{Code: code, Message: msg}}
}

// succeeded is the result of a 2xx response.
func (j *job) succeeded(c Completion) *result {
	return &result{ID: j.id, CustomID: j.customIDPtr(),
		Response: &response{StatusCode: c.Status, RequestID: c.RequestID, Body: c.Body}}
}

// notJSON is the result of a response whose body is not JSON (a gateway bug, found when the
// result line is encoded): recorded, not retried, since a retry would be billed and most
// likely fail the same way.
func (j *job) notJSON(status int) *result {
	return &result{ID: j.id, CustomID: j.customIDPtr(),
		Error: &lineError{Code: openai.CodeAPIError,
			Message: "the gateway answered status " + strconv.Itoa(status) + " with a body that is not JSON"}}
}

func fallbackCode(status int) string {
	switch status {
	case http.StatusUnauthorized:
		return openai.CodeInvalidToken
	case http.StatusForbidden:
		return openai.CodePermissionDenied
	case http.StatusNotFound:
		return openai.CodeNotFound
	case http.StatusRequestEntityTooLarge:
		return openai.CodeRequestTooLarge
	}
	return openai.CodeInvalidRequest
}

// lineID is the output line's id: a hash of the input's key and the line number, so that a
// redelivered event produces the same id.
func lineID(key []byte, n int) string {
	h := sha256.New()
	h.Write(key)
	h.Write([]byte{0})
	h.Write(strconv.AppendInt(nil, int64(n), 10))
	var sum [sha256.Size]byte
	return "batch_req_" + hex.EncodeToString(h.Sum(sum[:0])[:16])
}

// encode returns r as one JSON line with its newline. Bodies are copied as they are (only
// compacted): HTML characters are not escaped. It fails only for a body that is not JSON.
func encode(r *result) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// line encodes res, the result of j; a body that is not JSON becomes a notJSON result. It returns the line and the result it holds.
func (j *job) line(res *result) ([]byte, *result) {
	line, err := encode(res)
	if err == nil {
		return line, res
	}
	status := 0
	if res.Response != nil {
		status = res.Response.StatusCode
	}
	res = j.notJSON(status)
	line, _ = encode(res) // only strings left
	return line, res
}

// readResult reads a persisted result line back: which file it goes to, and its id. It fails
// for anything that is not a result line.
func readResult(b []byte) (isErr bool, id string, err error) {
	var r struct { // presence only: the body is not copied
		ID       string    `json:"id"`
		Response *struct{} `json:"response"`
		Error    *struct{} `json:"error"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return false, "", err
	}
	if r.ID == "" || (r.Response == nil && r.Error == nil) {
		return false, "", errors.New("not a result line")
	}
	return r.Error != nil, r.ID, nil
}
