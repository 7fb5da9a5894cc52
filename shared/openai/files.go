package openai

// FileObject is OpenAI's file object: https://platform.openai.com/docs/api-reference/files/object.
// Status is deprecated upstream but still read by clients; the gateway's files are always
// "processed" once their upload has been stored.
type FileObject struct {
	ID        string `json:"id"`
	Object    string `json:"object"` // "file"
	Bytes     int64  `json:"bytes"`
	CreatedAt int64  `json:"created_at"`
	ExpiresAt int64  `json:"expires_at,omitempty"`
	Filename  string `json:"filename"`
	Purpose   string `json:"purpose"` // "batch" for inputs, "batch_output" for outputs
	Status    string `json:"status"`
}

// FileList is the answer of GET /v1/files: https://platform.openai.com/docs/api-reference/files/list.
type FileList struct {
	Object  string       `json:"object"` // "list"
	Data    []FileObject `json:"data"`
	FirstID string       `json:"first_id,omitempty"`
	LastID  string       `json:"last_id,omitempty"`
	HasMore bool         `json:"has_more"`
}

// FileDeleted is the answer of DELETE /v1/files/{id}.
type FileDeleted struct {
	ID      string `json:"id"`
	Object  string `json:"object"` // "file"
	Deleted bool   `json:"deleted"`
}

// The file purposes the gateway stores.
const (
	PurposeBatch       = "batch"
	PurposeBatchOutput = "batch_output"
)
