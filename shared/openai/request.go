// Package openai holds the OpenAI Chat Completions wire types the gateway speaks to its clients:
// the request with its unions (content, stop, tool_choice), the response and stream chunk, and
// the one error type with its body.
package openai

import (
	"bytes"
	"encoding/json"
)

// Request is a Chat Completions request body. Fields the gateway cannot honour are decoded too,
// so validation can reject them by name instead of dropping them.
type Request struct {
	Model               string            `json:"model"`
	Messages            []Message         `json:"messages"`
	Stream              bool              `json:"stream,omitempty"`
	StreamOptions       *StreamOptions    `json:"stream_options,omitempty"`
	MaxTokens           *int              `json:"max_tokens,omitempty"`
	MaxCompletionTokens *int              `json:"max_completion_tokens,omitempty"`
	Temperature         *float64          `json:"temperature,omitempty"`
	TopP                *float64          `json:"top_p,omitempty"`
	TopK                *int              `json:"top_k,omitempty"`
	N                   *int              `json:"n,omitempty"`
	Stop                Stop              `json:"stop,omitempty"`
	Seed                *int64            `json:"seed,omitempty"`
	PresencePenalty     *float64          `json:"presence_penalty,omitempty"`
	FrequencyPenalty    *float64          `json:"frequency_penalty,omitempty"`
	Logprobs            *bool             `json:"logprobs,omitempty"`
	TopLogprobs         *int              `json:"top_logprobs,omitempty"`
	User                string            `json:"user,omitempty"`
	Metadata            map[string]string `json:"metadata,omitempty"`
	ResponseFormat      *ResponseFormat   `json:"response_format,omitempty"`
	Tools               []Tool            `json:"tools,omitempty"`
	ToolChoice          *ToolChoice       `json:"tool_choice,omitempty"`
	ParallelToolCalls   *bool             `json:"parallel_tool_calls,omitempty"`
	ReasoningEffort     string            `json:"reasoning_effort,omitempty"`
	Modalities          []string          `json:"modalities,omitempty"`
	WebSearchOptions    json.RawMessage   `json:"web_search_options,omitempty"`
	Store               *bool             `json:"store,omitempty"`
	ServiceTier         string            `json:"service_tier,omitempty"`
	SafetyIdentifier    string            `json:"safety_identifier,omitempty"`
	PromptCacheKey      string            `json:"prompt_cache_key,omitempty"`

	// Google holds the Gemini extensions, sent at the top level as "google" (what the OpenAI
	// Python SDK's extra_body produces) or literally nested as "extra_body": {"google": …}.
	Google    *Google    `json:"google,omitempty"`
	ExtraBody *ExtraBody `json:"extra_body,omitempty"`

	// Present only so validation can name them: the gateway does not support these.
	LogitBias    json.RawMessage `json:"logit_bias,omitempty"`
	Audio        json.RawMessage `json:"audio,omitempty"`
	Prediction   json.RawMessage `json:"prediction,omitempty"`
	Functions    json.RawMessage `json:"functions,omitempty"`
	FunctionCall json.RawMessage `json:"function_call,omitempty"`
	Verbosity    string          `json:"verbosity,omitempty"`
}

// ExtraBody is the literal "extra_body" object some clients send un-merged.
type ExtraBody struct {
	Google *Google `json:"google,omitempty"`
}

// Google holds Google's Gemini extensions to the OpenAI API, as Vertex AI documents them.
// https://cloud.google.com/vertex-ai/generative-ai/docs/migrate/openai/overview
type Google struct {
	ThinkingConfig              *ThinkingConfig   `json:"thinking_config,omitempty"`
	ThoughtTagMarker            string            `json:"thought_tag_marker,omitempty"`
	SafetySettings              json.RawMessage   `json:"safety_settings,omitempty"`
	CachedContent               string            `json:"cached_content,omitempty"`
	Labels                      map[string]string `json:"labels,omitempty"`
	StreamFunctionCallArguments bool              `json:"stream_function_call_arguments,omitempty"`
	GenerationConfig            json.RawMessage   `json:"generation_config,omitempty"`
}

// ThinkingConfig is google.thinking_config.
type ThinkingConfig struct {
	IncludeThoughts *bool  `json:"include_thoughts,omitempty"`
	ThinkingBudget  *int   `json:"thinking_budget,omitempty"`
	ThinkingLevel   string `json:"thinking_level,omitempty"`
}

// StreamOptions is stream_options.
type StreamOptions struct {
	IncludeUsage *bool `json:"include_usage,omitempty"`
}

// ResponseFormat is response_format.
type ResponseFormat struct {
	Type       string      `json:"type"`
	JSONSchema *JSONSchema `json:"json_schema,omitempty"`
}

// JSONSchema is response_format.json_schema. Schema stays raw: key order and number literals
// must reach Gemini as the client wrote them.
type JSONSchema struct {
	Name        string          `json:"name,omitempty"`
	Description string          `json:"description,omitempty"`
	Schema      json.RawMessage `json:"schema,omitempty"`
	Strict      *bool           `json:"strict,omitempty"`
}

// Tool is one entry of tools.
type Tool struct {
	Type     string        `json:"type"`
	Function *FunctionDecl `json:"function,omitempty"`
}

// FunctionDecl declares a callable function.
type FunctionDecl struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters,omitempty"`
	Strict      *bool           `json:"strict,omitempty"`
}

// Message is one entry of messages. DecodeRequest decodes it field by field: a key that is not
// below and not in the README's table of fields accepted and ignored (refusal, annotations,
// reasoning_content, audio.id) is a 400 naming its path.
type Message struct {
	Role       string     `json:"role"`
	Content    Content    `json:"content"`
	Name       string     `json:"name,omitempty"`
	ToolCalls  []ToolCall `json:"tool_calls,omitempty"`
	ToolCallID string     `json:"tool_call_id,omitempty"`
	// FunctionCall is the legacy assistant function_call.
	FunctionCall *FunctionCall `json:"function_call,omitempty"`
	// ExtraContent carries extra_content.google (thought_signature) back from a previous turn.
	ExtraContent *ExtraContent `json:"extra_content,omitempty"`
	// Audio and Images are an earlier assistant turn's generated media echoed back as the gateway
	// returned them (message.audio with extra_content.google.mime_type as Vertex does, and
	// message.images[]): image models need the image and its signature again to edit it.
	// OpenAI's own audio.id (and expires_at, transcript) are accepted and ignored.
	Audio  *Audio  `json:"audio,omitempty"`
	Images []Image `json:"images,omitempty"`
}

// ToolCall is an assistant tool call, in responses and in history.
type ToolCall struct {
	Index        *int          `json:"index,omitempty"`
	ID           string        `json:"id,omitempty"`
	Type         string        `json:"type,omitempty"`
	Function     FunctionCall  `json:"function"`
	ExtraContent *ExtraContent `json:"extra_content,omitempty"`
}

// FunctionCall is the function half of a tool call. Arguments is a JSON text in a string.
type FunctionCall struct {
	Name      string `json:"name,omitempty"`
	Arguments string `json:"arguments"`
	// ThoughtSignature is where some clients (Portkey's convention) keep the signature.
	ThoughtSignature string `json:"thought_signature,omitempty"`
}

// ExtraContent is extra_content on messages, tool calls and content parts.
type ExtraContent struct {
	Google *GoogleExtra `json:"google,omitempty"`
}

// GoogleExtra is extra_content.google.
type GoogleExtra struct {
	ThoughtSignature string          `json:"thought_signature,omitempty"`
	MIMEType         string          `json:"mime_type,omitempty"`
	Parts            json.RawMessage `json:"parts,omitempty"`
}

// Content is a message's content: null, a string, or an array of parts.
type Content struct {
	Text  string
	Parts []Part
	// IsParts reports whether the content came as an array (possibly empty).
	IsParts bool
	// IsNull reports whether the content was absent or null.
	IsNull bool
}

// MarshalJSON writes the union back in the form it came in.
func (c Content) MarshalJSON() ([]byte, error) {
	switch {
	case c.IsParts:
		if c.Parts == nil {
			return []byte("[]"), nil
		}
		return json.Marshal(c.Parts)
	case c.IsNull:
		return []byte("null"), nil
	}
	return json.Marshal(c.Text)
}

// Part is one element of an array content. Its keys are checked as Message's are; cache_control
// (Anthropic-style caching hints) is accepted and ignored.
type Part struct {
	Type         string        `json:"type"`
	Text         string        `json:"text,omitempty"`
	ImageURL     *ImageURL     `json:"image_url,omitempty"`
	InputAudio   *InputAudio   `json:"input_audio,omitempty"`
	File         *File         `json:"file,omitempty"`
	Refusal      string        `json:"refusal,omitempty"`
	ExtraContent *ExtraContent `json:"extra_content,omitempty"`
}

// ImageURL is an image_url part; the URL may be a data: URI, gs://, or http(s). Vertex's
// documentation also sends it as a bare string, which is accepted.
type ImageURL struct {
	URL    string `json:"url"`
	Detail string `json:"detail,omitempty"`
}

// InputAudio is an input_audio part: base64 data and its format.
type InputAudio struct {
	Data   string `json:"data"`
	Format string `json:"format"`
}

// File is a file part: inline file_data (a data: URI) or a file_id that is a URI.
type File struct {
	FileData string `json:"file_data,omitempty"`
	FileID   string `json:"file_id,omitempty"`
	Filename string `json:"filename,omitempty"`
	Format   string `json:"format,omitempty"`
}

// Stop is the stop union: a string or an array of strings.
type Stop []string

// UnmarshalJSON decodes the string | array | null union.
func (s *Stop) UnmarshalJSON(b []byte) error {
	b = bytes.TrimLeft(b, " \t\r\n")
	if len(b) > 0 && b[0] == '"' {
		var one string
		if err := json.Unmarshal(b, &one); err != nil {
			return err
		}
		*s = Stop{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*s = many
	return nil
}

// ToolChoice is the tool_choice union: "none" | "auto" | "required" | {"type":"function","function":{"name"}}.
type ToolChoice struct {
	Mode     string // none, auto, required; empty when Function is set
	Function string // the named function
}

// UnmarshalJSON decodes the string | object union.
func (t *ToolChoice) UnmarshalJSON(b []byte) error {
	*t = ToolChoice{}
	b = bytes.TrimLeft(b, " \t\r\n")
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &t.Mode)
	}
	var obj struct {
		Type     string `json:"type"`
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
	}
	if err := json.Unmarshal(b, &obj); err != nil {
		return err
	}
	if obj.Type != "function" || obj.Function.Name == "" {
		return &json.UnmarshalTypeError{Value: "object of type " + obj.Type, Type: toolChoiceType, Field: "tool_choice"}
	}
	t.Function = obj.Function.Name
	return nil
}
