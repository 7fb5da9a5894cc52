package openai

import "encoding/json"

// BatchCreate is the body of POST /v1/batches: https://platform.openai.com/docs/api-reference/batch/create.
type BatchCreate struct {
	InputFileID      string            `json:"input_file_id"`
	Endpoint         string            `json:"endpoint"`
	CompletionWindow string            `json:"completion_window"`
	Metadata         map[string]string `json:"metadata"`
}

// Batch is OpenAI's batch object: https://platform.openai.com/docs/api-reference/batch/object.
// Timestamps are Unix seconds, absent (null upstream) until the batch reaches that state.
type Batch struct {
	ID               string            `json:"id"`
	Object           string            `json:"object"` // "batch"
	Endpoint         string            `json:"endpoint"`
	Model            string            `json:"model,omitempty"`
	Errors           *BatchErrors      `json:"errors"`
	InputFileID      string            `json:"input_file_id"`
	CompletionWindow string            `json:"completion_window"`
	Status           string            `json:"status"`
	OutputFileID     *string           `json:"output_file_id"`
	ErrorFileID      *string           `json:"error_file_id"`
	CreatedAt        int64             `json:"created_at"`
	InProgressAt     *int64            `json:"in_progress_at"`
	ExpiresAt        *int64            `json:"expires_at"`
	FinalizingAt     *int64            `json:"finalizing_at"`
	CompletedAt      *int64            `json:"completed_at"`
	FailedAt         *int64            `json:"failed_at"`
	ExpiredAt        *int64            `json:"expired_at"`
	CancellingAt     *int64            `json:"cancelling_at"`
	CancelledAt      *int64            `json:"cancelled_at"`
	RequestCounts    RequestCounts     `json:"request_counts"`
	Metadata         map[string]string `json:"metadata"`
}

// The batch statuses: https://platform.openai.com/docs/api-reference/batch/object#batch/object-status.
const (
	BatchValidating = "validating"
	BatchFailed     = "failed"
	BatchInProgress = "in_progress"
	BatchFinalizing = "finalizing"
	BatchCompleted  = "completed"
	BatchExpired    = "expired"
	BatchCancelling = "cancelling"
	BatchCancelled  = "cancelled"
)

// RequestCounts counts a batch's requests by outcome.
type RequestCounts struct {
	Total     int64 `json:"total"`
	Completed int64 `json:"completed"`
	Failed    int64 `json:"failed"`
}

// BatchErrors lists why a batch failed as a whole (validation of the input file).
type BatchErrors struct {
	Object string       `json:"object"` // "list"
	Data   []BatchError `json:"data"`
}

// BatchError is one entry of BatchErrors.
type BatchError struct {
	Code    string  `json:"code"`
	Message string  `json:"message"`
	Param   *string `json:"param"`
	Line    *int64  `json:"line"`
}

// BatchList is the answer of GET /v1/batches.
type BatchList struct {
	Object  string  `json:"object"` // "list"
	Data    []Batch `json:"data"`
	FirstID string  `json:"first_id,omitempty"`
	LastID  string  `json:"last_id,omitempty"`
	HasMore bool    `json:"has_more"`
}

// BatchInputLine is one line of a batch input file:
// https://platform.openai.com/docs/api-reference/batch/request-input.
type BatchInputLine struct {
	CustomID json.RawMessage `json:"custom_id"`
	Method   string          `json:"method"`
	URL      string          `json:"url"`
	Body     json.RawMessage `json:"body"`
}

// BatchOutputLine is one line of a batch's output or error file:
// https://platform.openai.com/docs/api-reference/batch/request-output. A request answered
// with an error status keeps its response and repeats the error's code and message; a line
// that could not be run has no response.
type BatchOutputLine struct {
	ID       string          `json:"id"`
	CustomID *string         `json:"custom_id"`
	Response *BatchResponse  `json:"response"`
	Error    *BatchLineError `json:"error"`
}

// BatchResponse is the answer to one batch request: status, request id and the body our
// online endpoint answers.
type BatchResponse struct {
	StatusCode int             `json:"status_code"`
	RequestID  string          `json:"request_id"`
	Body       json.RawMessage `json:"body"`
}

// BatchLineError is the error of one output line. Line is the 1-based input line of a line
// that failed validation.
type BatchLineError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Line    int    `json:"line,omitempty"`
}
