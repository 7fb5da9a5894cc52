// Package gemini holds our own Gemini REST wire types and the client that calls the Vertex AI and
// Gemini Developer API generateContent endpoints: URL building, auth, retries, the SSE reader and
// the decoding of google.rpc errors.
//
// Reference: https://ai.google.dev/api/generate-content and
// https://cloud.google.com/vertex-ai/generative-ai/docs/reference/rest/v1/projects.locations.publishers.models/generateContent
package gemini

import "encoding/json"

// Request is a generateContent request body.
type Request struct {
	Contents          []Content         `json:"contents"`
	SystemInstruction *Content          `json:"systemInstruction,omitempty"`
	Tools             []Tool            `json:"tools,omitempty"`
	ToolConfig        *ToolConfig       `json:"toolConfig,omitempty"`
	SafetySettings    json.RawMessage   `json:"safetySettings,omitempty"`
	GenerationConfig  *GenerationConfig `json:"generationConfig,omitempty"`
	CachedContent     string            `json:"cachedContent,omitempty"`
	Labels            map[string]string `json:"labels,omitempty"`
}

// Content is one turn: a role and its parts.
type Content struct {
	Role  string `json:"role,omitempty"`
	Parts []Part `json:"parts"`
}

// Part is one part of a Content; exactly one data field is set.
type Part struct {
	Text             string            `json:"text,omitempty"`
	Thought          bool              `json:"thought,omitempty"`
	ThoughtSignature string            `json:"thoughtSignature,omitempty"`
	InlineData       *Blob             `json:"inlineData,omitempty"`
	FileData         *FileData         `json:"fileData,omitempty"`
	FunctionCall     *FunctionCall     `json:"functionCall,omitempty"`
	FunctionResponse *FunctionResponse `json:"functionResponse,omitempty"`
	MediaResolution  *MediaResolution  `json:"mediaResolution,omitempty"`
	ExecutableCode   json.RawMessage   `json:"executableCode,omitempty"`
	CodeExecResult   json.RawMessage   `json:"codeExecutionResult,omitempty"`
}

// MediaResolution is the per-part media resolution (Gemini 3).
type MediaResolution struct {
	Level string `json:"level"`
}

// Blob is inline bytes, base64 on the wire.
type Blob struct {
	MIMEType    string `json:"mimeType"`
	Data        string `json:"data"`
	DisplayName string `json:"displayName,omitempty"`
}

// FileData references media by URI (gs://, https://, or a Files API URI).
type FileData struct {
	MIMEType    string `json:"mimeType,omitempty"`
	FileURI     string `json:"fileUri"`
	DisplayName string `json:"displayName,omitempty"`
}

// FunctionCall is a model's call of a declared function.
type FunctionCall struct {
	ID           string          `json:"id,omitempty"`
	Name         string          `json:"name,omitempty"`
	Args         json.RawMessage `json:"args,omitempty"`
	PartialArgs  []PartialArg    `json:"partialArgs,omitempty"`
	WillContinue bool            `json:"willContinue,omitempty"`
}

// PartialArg is one streamed fragment of a function call's arguments.
type PartialArg struct {
	JSONPath     string          `json:"jsonPath"`
	StringValue  *string         `json:"stringValue,omitempty"`
	NumberValue  json.Number     `json:"numberValue,omitempty"`
	BoolValue    *bool           `json:"boolValue,omitempty"`
	NullValue    json.RawMessage `json:"nullValue,omitempty"`
	WillContinue bool            `json:"willContinue,omitempty"`
}

// FunctionResponse is the result of a function call sent back to the model.
type FunctionResponse struct {
	ID       string          `json:"id,omitempty"`
	Name     string          `json:"name"`
	Response json.RawMessage `json:"response"`
	Parts    []Part          `json:"parts,omitempty"`
}

// Tool is one entry of tools.
type Tool struct {
	FunctionDeclarations []FunctionDeclaration `json:"functionDeclarations,omitempty"`
	GoogleSearch         *struct{}             `json:"googleSearch,omitempty"`
}

// FunctionDeclaration declares a function with a JSON Schema for its parameters.
type FunctionDeclaration struct {
	Name                 string          `json:"name"`
	Description          string          `json:"description,omitempty"`
	ParametersJSONSchema json.RawMessage `json:"parametersJsonSchema,omitempty"`
}

// ToolConfig is toolConfig.
type ToolConfig struct {
	FunctionCallingConfig *FunctionCallingConfig `json:"functionCallingConfig,omitempty"`
}

// FunctionCallingConfig selects the calling mode.
type FunctionCallingConfig struct {
	Mode                        string   `json:"mode,omitempty"`
	AllowedFunctionNames        []string `json:"allowedFunctionNames,omitempty"`
	StreamFunctionCallArguments bool     `json:"streamFunctionCallArguments,omitempty"`
}

// GenerationConfig is generationConfig.
type GenerationConfig struct {
	StopSequences      []string        `json:"stopSequences,omitempty"`
	ResponseMIMEType   string          `json:"responseMimeType,omitempty"`
	ResponseJSONSchema json.RawMessage `json:"responseJsonSchema,omitempty"`
	ResponseModalities []string        `json:"responseModalities,omitempty"`
	CandidateCount     *int            `json:"candidateCount,omitempty"`
	MaxOutputTokens    *int            `json:"maxOutputTokens,omitempty"`
	Temperature        *float64        `json:"temperature,omitempty"`
	TopP               *float64        `json:"topP,omitempty"`
	TopK               *int            `json:"topK,omitempty"`
	Seed               *int64          `json:"seed,omitempty"`
	PresencePenalty    *float64        `json:"presencePenalty,omitempty"`
	FrequencyPenalty   *float64        `json:"frequencyPenalty,omitempty"`
	ResponseLogprobs   bool            `json:"responseLogprobs,omitempty"`
	Logprobs           *int            `json:"logprobs,omitempty"`
	MediaResolution    string          `json:"mediaResolution,omitempty"`
	ThinkingConfig     *ThinkingConfig `json:"thinkingConfig,omitempty"`
}

// ThinkingConfig controls thinking. ThinkingLevel (Gemini 3) and ThinkingBudget (2.5) are never
// both set: the API rejects that.
type ThinkingConfig struct {
	IncludeThoughts *bool  `json:"includeThoughts,omitempty"`
	ThinkingBudget  *int   `json:"thinkingBudget,omitempty"`
	ThinkingLevel   string `json:"thinkingLevel,omitempty"`
}

// Response is a generateContent response, and each event of a stream.
type Response struct {
	Candidates     []Candidate     `json:"candidates,omitempty"`
	PromptFeedback *PromptFeedback `json:"promptFeedback,omitempty"`
	UsageMetadata  *UsageMetadata  `json:"usageMetadata,omitempty"`
	ModelVersion   string          `json:"modelVersion,omitempty"`
	ResponseID     string          `json:"responseId,omitempty"`
}

// Candidate is one generated candidate.
type Candidate struct {
	Content           *Content           `json:"content,omitempty"`
	FinishReason      string             `json:"finishReason,omitempty"`
	FinishMessage     string             `json:"finishMessage,omitempty"`
	Index             int                `json:"index,omitempty"`
	LogprobsResult    *LogprobsResult    `json:"logprobsResult,omitempty"`
	GroundingMetadata *GroundingMetadata `json:"groundingMetadata,omitempty"`
}

// PromptFeedback reports a blocked prompt.
type PromptFeedback struct {
	BlockReason        string `json:"blockReason,omitempty"`
	BlockReasonMessage string `json:"blockReasonMessage,omitempty"`
}

// UsageMetadata is the token accounting.
// total = prompt + toolUsePrompt + candidates + thoughts (checked on every recorded sample).
type UsageMetadata struct {
	PromptTokenCount        int                  `json:"promptTokenCount,omitempty"`
	CandidatesTokenCount    int                  `json:"candidatesTokenCount,omitempty"`
	TotalTokenCount         int                  `json:"totalTokenCount,omitempty"`
	CachedContentTokenCount int                  `json:"cachedContentTokenCount,omitempty"`
	ToolUsePromptTokenCount int                  `json:"toolUsePromptTokenCount,omitempty"`
	ThoughtsTokenCount      int                  `json:"thoughtsTokenCount,omitempty"`
	PromptTokensDetails     []ModalityTokenCount `json:"promptTokensDetails,omitempty"`
	CandidatesTokensDetails []ModalityTokenCount `json:"candidatesTokensDetails,omitempty"`
	// TrafficType is Vertex's billing class of the request (ON_DEMAND, PROVISIONED_THROUGHPUT…).
	TrafficType string `json:"trafficType,omitempty"`
}

// ModalityTokenCount is a per-modality token count.
type ModalityTokenCount struct {
	Modality   string `json:"modality"`
	TokenCount int    `json:"tokenCount"`
}

// LogprobsResult holds chosen and top candidate tokens per step.
type LogprobsResult struct {
	TopCandidates    []TopCandidates `json:"topCandidates,omitempty"`
	ChosenCandidates []LogprobsToken `json:"chosenCandidates,omitempty"`
}

// TopCandidates are the alternatives at one step.
type TopCandidates struct {
	Candidates []LogprobsToken `json:"candidates,omitempty"`
}

// LogprobsToken is one token with its log probability.
type LogprobsToken struct {
	Token          string  `json:"token"`
	LogProbability float64 `json:"logProbability"`
}

// GroundingMetadata is returned with Google Search grounding.
type GroundingMetadata struct {
	GroundingChunks   []GroundingChunk   `json:"groundingChunks,omitempty"`
	GroundingSupports []GroundingSupport `json:"groundingSupports,omitempty"`
	WebSearchQueries  []string           `json:"webSearchQueries,omitempty"`
}

// GroundingChunk is one source.
type GroundingChunk struct {
	Web *struct {
		URI   string `json:"uri"`
		Title string `json:"title,omitempty"`
	} `json:"web,omitempty"`
}

// GroundingSupport ties a text segment to sources.
type GroundingSupport struct {
	Segment *struct {
		StartIndex int    `json:"startIndex,omitempty"`
		EndIndex   int    `json:"endIndex,omitempty"`
		Text       string `json:"text,omitempty"`
	} `json:"segment,omitempty"`
	GroundingChunkIndices []int `json:"groundingChunkIndices,omitempty"`
}
