package openai

import "encoding/json"

// Response is a non-streaming chat.completion.
type Response struct {
	ID                string   `json:"id"`
	Object            string   `json:"object"`
	Created           int64    `json:"created"`
	Model             string   `json:"model"`
	SystemFingerprint *string  `json:"system_fingerprint"`
	Choices           []Choice `json:"choices"`
	Usage             *Usage   `json:"usage,omitempty"`
}

// Choice is one choice of a Response.
type Choice struct {
	Index        int        `json:"index"`
	Message      OutMessage `json:"message"`
	FinishReason *string    `json:"finish_reason"`
	Logprobs     *Logprobs  `json:"logprobs"`
	// NativeFinishReason is Gemini's own finishReason, kept so nothing is lost in mapping.
	NativeFinishReason string `json:"native_finish_reason,omitempty"`
}

// OutMessage is the assistant message of a choice.
type OutMessage struct {
	Role             string        `json:"role"`
	Content          *string       `json:"content"`
	ReasoningContent *string       `json:"reasoning_content,omitempty"`
	ToolCalls        []ToolCall    `json:"tool_calls,omitempty"`
	Audio            *Audio        `json:"audio,omitempty"`
	Images           []Image       `json:"images,omitempty"`
	Annotations      []Annotation  `json:"annotations,omitempty"`
	ExtraContent     *ExtraContent `json:"extra_content,omitempty"`
}

// Audio carries inline media output the way Vertex's OpenAI endpoint does:
// data in base64 and the mime type in extra_content.google.mime_type.
type Audio struct {
	ID           string        `json:"id,omitempty"`
	Data         string        `json:"data"`
	ExtraContent *ExtraContent `json:"extra_content,omitempty"`
}

// Image is one generated image as a data: URI, the OpenRouter/LiteLLM convention. ExtraContent
// holds the image part's own thought signature, which an edit of the image sends back.
type Image struct {
	Type         string        `json:"type"`
	ImageURL     ImageURL      `json:"image_url"`
	Index        int           `json:"index"`
	ExtraContent *ExtraContent `json:"extra_content,omitempty"`
}

// Annotation is a url_citation from grounding.
type Annotation struct {
	Type        string      `json:"type"`
	URLCitation URLCitation `json:"url_citation"`
}

// URLCitation is the body of a url_citation annotation.
type URLCitation struct {
	URL        string `json:"url"`
	Title      string `json:"title,omitempty"`
	StartIndex int    `json:"start_index"`
	EndIndex   int    `json:"end_index"`
}

// Logprobs is choices[].logprobs.
type Logprobs struct {
	Content []TokenLogprob `json:"content"`
}

// TokenLogprob is one token's log probability with its alternatives.
type TokenLogprob struct {
	Token       string       `json:"token"`
	Logprob     float64      `json:"logprob"`
	Bytes       []int        `json:"bytes"`
	TopLogprobs []TopLogprob `json:"top_logprobs"`
}

// TopLogprob is one alternative token.
type TopLogprob struct {
	Token   string  `json:"token"`
	Logprob float64 `json:"logprob"`
	Bytes   []int   `json:"bytes"`
}

// Usage is the token accounting of a response or of the last stream chunk.
type Usage struct {
	PromptTokens            int                     `json:"prompt_tokens"`
	CompletionTokens        int                     `json:"completion_tokens"`
	TotalTokens             int                     `json:"total_tokens"`
	PromptTokensDetails     PromptTokensDetails     `json:"prompt_tokens_details"`
	CompletionTokensDetails CompletionTokensDetails `json:"completion_tokens_details"`
	// ExtraProperties carries Google's extra usage facts as Vertex AI's own endpoint reports
	// them: extra_properties.google.traffic_type.
	ExtraProperties *UsageExtra `json:"extra_properties,omitempty"`
}

// UsageExtra is usage.extra_properties.
type UsageExtra struct {
	Google *UsageGoogle `json:"google,omitempty"`
}

// UsageGoogle is usage.extra_properties.google.
type UsageGoogle struct {
	// TrafficType is usageMetadata.trafficType: ON_DEMAND, PROVISIONED_THROUGHPUT, …
	TrafficType string `json:"traffic_type,omitempty"`
}

// PromptTokensDetails splits prompt tokens.
type PromptTokensDetails struct {
	CachedTokens int `json:"cached_tokens"`
	TextTokens   int `json:"text_tokens"`
	AudioTokens  int `json:"audio_tokens"`
	ImageTokens  int `json:"image_tokens"`
}

// CompletionTokensDetails splits completion tokens.
type CompletionTokensDetails struct {
	TextTokens      int `json:"text_tokens"`
	AudioTokens     int `json:"audio_tokens"`
	ReasoningTokens int `json:"reasoning_tokens"`
	ImageTokens     int `json:"image_tokens,omitempty"`
}

// Chunk is one chat.completion.chunk of a stream.
type Chunk struct {
	ID                string        `json:"id"`
	Object            string        `json:"object"`
	Created           int64         `json:"created"`
	Model             string        `json:"model"`
	SystemFingerprint *string       `json:"system_fingerprint"`
	Choices           []ChunkChoice `json:"choices"`
	Usage             ChunkUsage    `json:"usage,omitzero"`
}

// ChunkUsage is a chunk's usage: absent (the zero value), null, or the totals. In a stream
// that ends with a usage chunk, OpenAI sends "usage": null on every chunk before it.
type ChunkUsage struct {
	Totals *Usage
	Null   bool // with Totals nil: marshal as null instead of leaving the field out
}

// IsZero reports whether the field is left out.
func (u ChunkUsage) IsZero() bool { return u.Totals == nil && !u.Null }

// MarshalJSON writes the totals, or null.
func (u ChunkUsage) MarshalJSON() ([]byte, error) {
	if u.Totals == nil {
		return []byte("null"), nil
	}
	return json.Marshal(u.Totals)
}

// ChunkChoice is one choice delta of a chunk.
type ChunkChoice struct {
	Index              int       `json:"index"`
	Delta              Delta     `json:"delta"`
	Logprobs           *Logprobs `json:"logprobs"`
	FinishReason       *string   `json:"finish_reason"`
	NativeFinishReason string    `json:"native_finish_reason,omitempty"`
}

// Delta is the incremental message of a chunk choice.
type Delta struct {
	Role             string        `json:"role,omitempty"`
	Content          *string       `json:"content,omitempty"`
	ReasoningContent *string       `json:"reasoning_content,omitempty"`
	ToolCalls        []ToolCall    `json:"tool_calls,omitempty"`
	Audio            *Audio        `json:"audio,omitempty"`
	Images           []Image       `json:"images,omitempty"`
	Annotations      []Annotation  `json:"annotations,omitempty"`
	ExtraContent     *ExtraContent `json:"extra_content,omitempty"`
}

// Model is one entry of GET /v1/models.
type Model struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

// ModelList is the GET /v1/models body.
type ModelList struct {
	Object string  `json:"object"`
	Data   []Model `json:"data"`
}

// MarshalStreamError returns the data of the final error event of a stream that fails after its
// first byte: the same body as every other error (success, error, trace_id), so clients parse
// one shape wherever the error arrives.
func (e *Error) MarshalStreamError(traceID string) []byte {
	return e.MarshalBody(traceID)
}
