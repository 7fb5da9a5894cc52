package openai

import (
	"encoding/json"
	"errors"
	"reflect"
	"strconv"

	"github.com/geminigateway/gateway/shared/jsonscan"
)

// The Responses API (POST /v1/responses) wire types. Shapes follow OpenAI's API reference
// (https://platform.openai.com/docs/api-reference/responses) as the official Go client
// github.com/openai/openai-go/v3 v3.96.0 (package responses) decodes them; documented samples
// and their sources are in testdata/responses.

// ResponsesRequest is a POST /v1/responses body. Fields the gateway cannot honour are decoded
// too, so translation can refuse them by name instead of dropping them.
type ResponsesRequest struct {
	Model              string               `json:"model"`
	Input              Input                `json:"input"`
	Instructions       string               `json:"instructions,omitempty"`
	Tools              []ResponsesTool      `json:"tools,omitempty"`
	ToolChoice         *ResponsesToolChoice `json:"tool_choice,omitempty"`
	ParallelToolCalls  *bool                `json:"parallel_tool_calls,omitempty"`
	MaxToolCalls       *int                 `json:"max_tool_calls,omitempty"`
	Text               *TextConfig          `json:"text,omitempty"`
	Reasoning          *ReasoningConfig     `json:"reasoning,omitempty"`
	MaxOutputTokens    *int                 `json:"max_output_tokens,omitempty"`
	Temperature        *float64             `json:"temperature,omitempty"`
	TopP               *float64             `json:"top_p,omitempty"`
	TopLogprobs        *int                 `json:"top_logprobs,omitempty"`
	Metadata           map[string]string    `json:"metadata,omitempty"`
	User               string               `json:"user,omitempty"`
	SafetyIdentifier   string               `json:"safety_identifier,omitempty"`
	PromptCacheKey     string               `json:"prompt_cache_key,omitempty"`
	Store              *bool                `json:"store,omitempty"`
	PreviousResponseID string               `json:"previous_response_id,omitempty"`
	Include            []string             `json:"include,omitempty"`
	Stream             bool                 `json:"stream,omitempty"`
	StreamOptions      json.RawMessage      `json:"stream_options,omitempty"`
	Truncation         string               `json:"truncation,omitempty"`
	ServiceTier        string               `json:"service_tier,omitempty"`

	// The Gemini extensions, as in chat.
	Google    *Google    `json:"google,omitempty"`
	ExtraBody *ExtraBody `json:"extra_body,omitempty"`

	// Present only so translation can name them: the gateway does not support these.
	Background   json.RawMessage `json:"background,omitempty"`
	Conversation json.RawMessage `json:"conversation,omitempty"`
	Prompt       json.RawMessage `json:"prompt,omitempty"`
}

// Input is the input union: a string (one user message) or a list of items.
type Input struct {
	Text  string
	Items []Item
	// IsItems reports whether input came as an array.
	IsItems bool
}

// MarshalJSON writes the union back in the form it came in.
func (in Input) MarshalJSON() ([]byte, error) {
	if in.IsItems {
		if in.Items == nil {
			return []byte("[]"), nil
		}
		return json.Marshal(in.Items)
	}
	return json.Marshal(in.Text)
}

// Item is one input item, or one output item of a response: a union discriminated by Type
// ("message" when absent and Role is set, as the easy input message form has no type).
type Item struct {
	Type   string `json:"type,omitempty"`
	ID     string `json:"id,omitempty"`
	Status string `json:"status,omitempty"`

	// message
	Role    string       `json:"role,omitempty"`
	Content *ItemContent `json:"content,omitempty"`

	// function_call and function_call_output
	CallID    string      `json:"call_id,omitempty"`
	Name      string      `json:"name,omitempty"`
	Arguments *string     `json:"arguments,omitempty"`
	Output    *ItemOutput `json:"output,omitempty"`

	// reasoning
	Summary          *[]SummaryPart `json:"summary,omitempty"`
	EncryptedContent *string        `json:"encrypted_content,omitempty"`

	// web_search_call
	Action *WebSearchAction `json:"action,omitempty"`

	// image_generation_call: a generated image, base64, and its format (png, jpeg, webp)
	Result       *string `json:"result,omitempty"`
	OutputFormat string  `json:"output_format,omitempty"`
}

// Item types.
const (
	ItemMessage            = "message"
	ItemFunctionCall       = "function_call"
	ItemFunctionCallOutput = "function_call_output"
	ItemReasoning          = "reasoning"
	ItemReference          = "item_reference"
	ItemWebSearchCall      = "web_search_call"
	ItemImageGeneration    = "image_generation_call"
)

// ItemContent is a message item's content: a string or a list of parts.
type ItemContent struct {
	Text    string
	Parts   []ItemPart
	IsParts bool
}

// UnmarshalJSON decodes the string | array union.
func (c *ItemContent) UnmarshalJSON(b []byte) error {
	*c = ItemContent{}
	if jsonscan.Kind(b) == '"' {
		return json.Unmarshal(b, &c.Text)
	}
	c.IsParts = true
	return json.Unmarshal(b, &c.Parts)
}

// MarshalJSON writes the union back in the form it came in.
func (c ItemContent) MarshalJSON() ([]byte, error) {
	if c.IsParts {
		if c.Parts == nil {
			return []byte("[]"), nil
		}
		return json.Marshal(c.Parts)
	}
	return json.Marshal(c.Text)
}

// ItemOutput is a function_call_output's output: a string or a list of input parts.
type ItemOutput = ItemContent

// ItemPart is one content part: input_text, input_image, input_file, input_audio in user
// content; output_text and refusal in assistant content.
type ItemPart struct {
	Type string `json:"type"`
	Text string `json:"text,omitempty"`
	// input_image
	ImageURL string `json:"image_url,omitempty"`
	Detail   string `json:"detail,omitempty"`
	// input_image and input_file
	FileID string `json:"file_id,omitempty"`
	// input_file
	FileData string `json:"file_data,omitempty"`
	FileURL  string `json:"file_url,omitempty"`
	Filename string `json:"filename,omitempty"`
	// input_audio
	InputAudio *InputAudio `json:"input_audio,omitempty"`
	// refusal
	Refusal string `json:"refusal,omitempty"`
	// output_text: annotations always present (an empty array when there are none), logprobs
	// only when asked for.
	Annotations *[]ResponseAnnotation `json:"annotations,omitempty"`
	Logprobs    []ResponseLogprob     `json:"logprobs,omitempty"`
}

// MarshalJSON writes output_text with its annotations array even when empty: the Vercel AI
// SDK's schema requires it.
func (p ItemPart) MarshalJSON() ([]byte, error) {
	type plain ItemPart
	if p.Type != "output_text" {
		return json.Marshal(plain(p))
	}
	if p.Annotations == nil {
		p.Annotations = &[]ResponseAnnotation{}
	}
	// text is required on output_text, even empty (content_part.added carries it so).
	return json.Marshal(struct {
		Type        string                `json:"type"`
		Text        string                `json:"text"`
		Annotations *[]ResponseAnnotation `json:"annotations"`
		Logprobs    []ResponseLogprob     `json:"logprobs,omitempty"`
	}{p.Type, p.Text, p.Annotations, p.Logprobs})
}

// ResponseAnnotation is an output_text annotation; the gateway produces url_citation only.
type ResponseAnnotation struct {
	Type       string `json:"type"`
	URL        string `json:"url,omitempty"`
	Title      string `json:"title,omitempty"`
	StartIndex int    `json:"start_index"`
	EndIndex   int    `json:"end_index"`
}

// ResponseLogprob is one token's log probability in output_text.logprobs.
type ResponseLogprob struct {
	Token       string               `json:"token"`
	Logprob     float64              `json:"logprob"`
	Bytes       []int                `json:"bytes"`
	TopLogprobs []ResponseTopLogprob `json:"top_logprobs"`
}

// ResponseTopLogprob is one alternative of a ResponseLogprob.
type ResponseTopLogprob struct {
	Token   string  `json:"token"`
	Logprob float64 `json:"logprob"`
	Bytes   []int   `json:"bytes"`
}

// SummaryPart is one reasoning summary part.
type SummaryPart struct {
	Type string `json:"type"` // summary_text
	Text string `json:"text"`
}

// WebSearchAction is a web_search_call's action.
type WebSearchAction struct {
	Type    string            `json:"type"` // search
	Query   string            `json:"query,omitempty"`
	Sources []WebSearchSource `json:"sources,omitempty"`
}

// WebSearchSource is one source a web search consulted.
type WebSearchSource struct {
	Type string `json:"type"` // url
	URL  string `json:"url"`
}

// ResponsesTool is one entry of tools: a function tool (name and parameters at the top level,
// unlike chat's nested function) or a hosted tool, of which only web_search is served.
type ResponsesTool struct {
	Type        string          `json:"type"`
	Name        string          `json:"name,omitempty"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters,omitempty"`
	Strict      *bool           `json:"strict,omitempty"`
	// web_search options, accepted: Google Search grounding has no equivalent knobs.
	SearchContextSize string          `json:"search_context_size,omitempty"`
	UserLocation      json.RawMessage `json:"user_location,omitempty"`
	Filters           json.RawMessage `json:"filters,omitempty"`
}

// ResponsesToolChoice is the tool_choice union: "none" | "auto" | "required" |
// {"type":"function","name"} | {"type":"web_search"…} (a hosted tool).
type ResponsesToolChoice struct {
	Mode     string // none, auto, required; empty when Function or Hosted is set
	Function string // the named function
	Hosted   string // the hosted tool's type
}

// UnmarshalJSON decodes the string | object union.
func (t *ResponsesToolChoice) UnmarshalJSON(b []byte) error {
	*t = ResponsesToolChoice{}
	if jsonscan.Kind(b) == '"' {
		return json.Unmarshal(b, &t.Mode)
	}
	var obj struct {
		Type string `json:"type"`
		Name string `json:"name"`
	}
	if err := json.Unmarshal(b, &obj); err != nil {
		return err
	}
	switch {
	case obj.Type == "function" && obj.Name != "":
		t.Function = obj.Name
	case obj.Type != "" && obj.Type != "function":
		t.Hosted = obj.Type
	default:
		return InvalidParam("tool_choice", "tool_choice must be none, auto, required or {\"type\":\"function\",\"name\":…}")
	}
	return nil
}

// MarshalJSON writes the union in its wire form.
func (t ResponsesToolChoice) MarshalJSON() ([]byte, error) {
	switch {
	case t.Function != "":
		return json.Marshal(map[string]string{"type": "function", "name": t.Function})
	case t.Hosted != "":
		return json.Marshal(map[string]string{"type": t.Hosted})
	}
	return json.Marshal(t.Mode)
}

// TextConfig is text: the output format (and verbosity, refused when set).
type TextConfig struct {
	Format    *TextFormat `json:"format,omitempty"`
	Verbosity string      `json:"verbosity,omitempty"`
}

// TextFormat is text.format: {"type":"text"}, {"type":"json_object"}, or a json_schema with the
// schema flattened beside the type (unlike chat's nested json_schema).
type TextFormat struct {
	Type        string          `json:"type"`
	Name        string          `json:"name,omitempty"`
	Description string          `json:"description,omitempty"`
	Schema      json.RawMessage `json:"schema,omitempty"`
	Strict      *bool           `json:"strict,omitempty"`
}

// ReasoningConfig is reasoning.
type ReasoningConfig struct {
	Effort          string `json:"effort,omitempty"`
	Summary         string `json:"summary,omitempty"`
	GenerateSummary string `json:"generate_summary,omitempty"`
}

// ResponseObject is a response: the unary body, the payload of the lifecycle stream events, and
// what is stored.
type ResponseObject struct {
	ID                 string             `json:"id"`
	Object             string             `json:"object"` // response
	CreatedAt          int64              `json:"created_at"`
	Status             string             `json:"status"`
	Error              *ResponseError     `json:"error"`
	IncompleteDetails  *IncompleteDetails `json:"incomplete_details"`
	Instructions       *string            `json:"instructions"`
	MaxOutputTokens    *int               `json:"max_output_tokens"`
	MaxToolCalls       *int               `json:"max_tool_calls"`
	Model              string             `json:"model"`
	Output             []Item             `json:"output"`
	ParallelToolCalls  bool               `json:"parallel_tool_calls"`
	PreviousResponseID *string            `json:"previous_response_id"`
	Reasoning          ReasoningConfig    `json:"reasoning"`
	Store              bool               `json:"store"`
	Temperature        *float64           `json:"temperature"`
	Text               TextConfig         `json:"text"`
	ToolChoice         json.RawMessage    `json:"tool_choice"`
	Tools              []ResponsesTool    `json:"tools"`
	TopP               *float64           `json:"top_p"`
	Truncation         string             `json:"truncation"`
	Usage              *ResponseUsage     `json:"usage"`
	User               *string            `json:"user"`
	Metadata           map[string]string  `json:"metadata"`
}

// Response statuses.
const (
	StatusCompleted  = "completed"
	StatusIncomplete = "incomplete"
	StatusFailed     = "failed"
	StatusInProgress = "in_progress"
)

// ResponseError is a failed response's error.
type ResponseError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// IncompleteDetails says why a response is incomplete: max_output_tokens or content_filter.
type IncompleteDetails struct {
	Reason string `json:"reason"`
}

// ResponseUsage is a response's usage.
type ResponseUsage struct {
	InputTokens         int                 `json:"input_tokens"`
	InputTokensDetails  InputTokensDetails  `json:"input_tokens_details"`
	OutputTokens        int                 `json:"output_tokens"`
	OutputTokensDetails OutputTokensDetails `json:"output_tokens_details"`
	TotalTokens         int                 `json:"total_tokens"`
}

// InputTokensDetails is usage.input_tokens_details.
type InputTokensDetails struct {
	CachedTokens int `json:"cached_tokens"`
}

// OutputTokensDetails is usage.output_tokens_details.
type OutputTokensDetails struct {
	ReasoningTokens int `json:"reasoning_tokens"`
}

// ResponseEvent is one streaming event. Type names the event; the other fields are those that
// event carries (https://platform.openai.com/docs/api-reference/responses-streaming), so one
// struct serves them all and the zero fields a given event does not have are omitted.
type ResponseEvent struct {
	Type           string          `json:"type"`
	SequenceNumber int             `json:"sequence_number"`
	Response       *ResponseObject `json:"response,omitempty"`
	OutputIndex    *int            `json:"output_index,omitempty"`
	ItemID         string          `json:"item_id,omitempty"`
	ContentIndex   *int            `json:"content_index,omitempty"`
	SummaryIndex   *int            `json:"summary_index,omitempty"`
	Item           *Item           `json:"item,omitempty"`
	// Part is the content part (*ItemPart) or the reasoning summary part (*SummaryPart) of the
	// part events.
	Part      any     `json:"part,omitempty"`
	Delta     *string `json:"delta,omitempty"`
	Text      *string `json:"text,omitempty"`
	Arguments *string `json:"arguments,omitempty"`
	Name      string  `json:"name,omitempty"`
	// output_text.annotation.added
	AnnotationIndex *int                `json:"annotation_index,omitempty"`
	Annotation      *ResponseAnnotation `json:"annotation,omitempty"`
	// Logprobs is output_text.delta's and .done's logprobs: always an array on those events.
	Logprobs *[]ResponseLogprob `json:"logprobs,omitempty"`
	// error events
	Code    *string `json:"code,omitempty"`
	Message string  `json:"message,omitempty"`
	Param   *string `json:"param,omitempty"`
}

// Streaming event types.
const (
	EventCreated            = "response.created"
	EventInProgress         = "response.in_progress"
	EventCompleted          = "response.completed"
	EventIncomplete         = "response.incomplete"
	EventFailed             = "response.failed"
	EventItemAdded          = "response.output_item.added"
	EventItemDone           = "response.output_item.done"
	EventPartAdded          = "response.content_part.added"
	EventPartDone           = "response.content_part.done"
	EventTextDelta          = "response.output_text.delta"
	EventTextDone           = "response.output_text.done"
	EventSummaryPartAdded   = "response.reasoning_summary_part.added"
	EventSummaryPartDone    = "response.reasoning_summary_part.done"
	EventSummaryTextDelta   = "response.reasoning_summary_text.delta"
	EventSummaryTextDone    = "response.reasoning_summary_text.done"
	EventArgumentsDelta     = "response.function_call_arguments.delta"
	EventArgumentsDone      = "response.function_call_arguments.done"
	EventAnnotationAdded    = "response.output_text.annotation.added"
	EventWebSearchCompleted = "response.web_search_call.completed"
	EventError              = "error"
)

// InputItemList is the GET /v1/responses/{id}/input_items body.
type InputItemList struct {
	Object  string `json:"object"` // list
	Data    []Item `json:"data"`
	FirstID string `json:"first_id,omitempty"`
	LastID  string `json:"last_id,omitempty"`
	HasMore bool   `json:"has_more"`
}

// DeletedResponse is the DELETE /v1/responses/{id} body.
type DeletedResponse struct {
	ID      string `json:"id"`
	Object  string `json:"object"` // response
	Deleted bool   `json:"deleted"`
}

// responsesFields lists every top-level field ResponsesRequest decodes.
var responsesFields = fieldsOf(reflect.TypeFor[ResponsesRequest]()).keys

// DecodeResponsesRequest decodes a POST /v1/responses body. Every error is an *Error with status
// 400 that names the field: an unknown key at any level of the request, its items and their
// parts, or of google/extra_body.google, is refused by its path.
func (l Limits) DecodeResponsesRequest(body []byte) (*ResponsesRequest, error) {
	if l.Messages <= 0 {
		l.Messages = DefaultLimits.Messages
	}
	if l.Parts <= 0 {
		l.Parts = DefaultLimits.Parts
	}
	var input, google, extraBody []byte
	err := jsonscan.Object(body, func(k, v []byte) error {
		switch key := string(k); key {
		case "input":
			input = v
		case "google":
			google = v
		case "extra_body":
			extraBody = v
		case "tools":
			return maxLen(v, maxTools, key, "tools holds at most %d tools")
		case "metadata":
			return maxMembers(v, maxMetadata, key, "metadata holds at most %d key-value pairs")
		default:
			if _, ok := responsesFields[key]; !ok {
				return InvalidParam(key, "unrecognized request argument supplied: %s", key)
			}
		}
		return nil
	})
	if err != nil && errors.Is(err, jsonscan.ErrSyntax) {
		err = invalidJSON(body)
	}
	if err != nil {
		return nil, err
	}
	var r ResponsesRequest
	wire := struct {
		*plainResponsesRequest
		Input skip `json:"input"`
	}{plainResponsesRequest: (*plainResponsesRequest)(&r)}
	if err := json.Unmarshal(body, &wire); err != nil {
		return nil, decodeError(err)
	}
	for i, t := range r.Tools {
		if t.Type == "" {
			return nil, InvalidParam("tools["+strconv.Itoa(i)+"].type", "tools[%d].type is required", i)
		}
	}
	if err := r.decodeInput(input, l); err != nil {
		return nil, err
	}
	// foldGoogle is chat's: the same extensions, checked and merged the same way.
	cr := Request{Google: r.Google, ExtraBody: r.ExtraBody}
	if err := cr.foldGoogle(google, extraBody); err != nil {
		return nil, err
	}
	r.Google, r.ExtraBody = cr.Google, nil
	if r.Model == "" {
		return nil, InvalidParam("model", "model is required")
	}
	return &r, nil
}

type plainResponsesRequest ResponsesRequest

var (
	itemType     = reflect.TypeFor[Item]()
	itemPartType = reflect.TypeFor[ItemPart]()
)

// decodeInput decodes input: a string, or an array of items whose keys (and their parts' keys)
// are checked, counted against the limits.
func (r *ResponsesRequest) decodeInput(b []byte, l Limits) error {
	if b == nil || jsonscan.IsNull(b) {
		return nil
	}
	switch jsonscan.Kind(b) {
	case '"':
		if err := json.Unmarshal(b, &r.Input.Text); err != nil {
			return InvalidParam("input", "input is not a valid string")
		}
		return nil
	case '[':
	default:
		return InvalidParam("input", "input must be a string or an array of items")
	}
	n, err := jsonscan.Len(b, l.Messages)
	if err != nil {
		return InvalidParam("input", "input is not a valid array: %v", err)
	}
	if n > l.Messages {
		return InvalidParam("input", "input has more than %d items, the most this gateway accepts (GATEWAY_MAX_MESSAGES)", l.Messages)
	}
	r.Input.IsItems = true
	r.Input.Items = make([]Item, n)
	parts := 0
	return jsonscan.Array(b, func(i int, v []byte) error {
		at := "input[" + strconv.Itoa(i) + "]"
		if jsonscan.Kind(v) != '{' {
			return InvalidParam(at, "%s must be an object", at)
		}
		err := jsonscan.Object(v, func(k, cv []byte) error {
			switch string(k) {
			case "content", "output":
				if jsonscan.Kind(cv) == '[' {
					m, err := jsonscan.Len(cv, l.Parts-parts)
					if err != nil {
						return InvalidParam(at+"."+string(k), "%s.%s is not a valid array: %v", at, k, err)
					}
					if parts += m; parts > l.Parts {
						return InvalidParam(at+"."+string(k), "the request has more than %d content parts, the most this gateway accepts (GATEWAY_MAX_PARTS)", l.Parts)
					}
					return checkKeys(cv, itemPartType, at+"."+string(k))
				}
				return nil
			case "summary":
				return checkKeys(cv, reflect.TypeFor[SummaryPart](), at+".summary")
			case "action":
				return checkKeys(cv, reflect.TypeFor[WebSearchAction](), at+".action")
			}
			if _, ok := fieldsOf(itemType).keys[string(k)]; !ok {
				return unknownField(at + "." + string(k))
			}
			return nil
		})
		if err != nil {
			return err
		}
		it := &r.Input.Items[i]
		if err := json.Unmarshal(v, it); err != nil {
			return fieldError(err, at)
		}
		if it.Type == "" && it.Role == "" && it.ID != "" {
			it.Type = ItemReference // its type is optional: {"id": …} alone is a reference
		}
		return nil
	})
}
