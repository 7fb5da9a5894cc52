package translate

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"

	"github.com/geminigateway/gateway/shared/gemini"
	"github.com/geminigateway/gateway/shared/openai"
)

// RequestOptions are the gateway settings that shape a request translation.
type RequestOptions struct {
	Backend gemini.Backend
	// IncludeThoughts is the default for thinking models when the request does not say.
	IncludeThoughts bool
	// FetchHTTPMedia says http(s) media URLs will be fetched and inlined by the caller; when
	// false they are passed to Gemini as fileData.fileUri.
	FetchHTTPMedia bool
}

// Translated is a request ready for Gemini, with what the response side needs to know.
type Translated struct {
	Model   string // upstream model id
	Request *gemini.Request
	Stream  bool
	// Response shaping.
	ThoughtTagMarker string
	IncludeUsage     bool // emit the usage chunk in streams
	MaxToolCalls     int  // 1 when parallel_tool_calls is false, else 0 (no limit)
	// Fetch lists the parts whose http(s) URLs the caller must fetch and inline.
	Fetch []*gemini.Part
	// FetchParams[i] names the request field of Fetch[i] ("messages[0].content[2]"), for errors.
	FetchParams []string
}

// RequestToGemini translates a decoded Chat Completions request. Every error is an *openai.Error
// naming the offending field, except that once ctx is done it stops and returns ctx.Err(). It
// does not modify req. The work is linear in the size of the request.
func RequestToGemini(ctx context.Context, req *openai.Request, models *Models, opt RequestOptions) (*Translated, error) {
	if err := rejectUnsupported(req); err != nil {
		return nil, err
	}
	model, err := models.resolve(req.Model)
	if err != nil {
		return nil, err
	}
	g := google(req)
	t := &translation{}
	out := &t.tr
	out.Model, out.Stream, out.Request = model.id, req.Stream, &t.req
	if g != nil {
		marker, err := tagMarker(g.ThoughtTagMarker)
		if err != nil {
			return nil, err
		}
		out.ThoughtTagMarker = marker
	}
	out.IncludeUsage = req.StreamOptions == nil || req.StreamOptions.IncludeUsage == nil || *req.StreamOptions.IncludeUsage
	if req.ParallelToolCalls != nil && !*req.ParallelToolCalls {
		out.MaxToolCalls = 1
	}

	cv := contentConverter{ctx: ctx, opt: opt, caps: model.caps, out: out, t: t}
	if err := cv.messages(req.Messages); err != nil {
		return nil, err
	}
	gr := out.Request
	gr.Contents = cv.contents
	gr.SystemInstruction = cv.system

	if err := toolsToGemini(req, model.id, gr, g); err != nil {
		return nil, err
	}
	gc := &t.gc
	if err := generationConfig(gc, &t.think, req, model.caps, g, opt); err != nil {
		return nil, err
	}
	if cv.resolution != "" && gc.MediaResolution == "" {
		gc.MediaResolution = cv.resolution
	}
	if !generationConfigZero(gc) {
		gr.GenerationConfig = gc
	}
	if g != nil {
		gr.SafetySettings = g.SafetySettings
		gr.CachedContent = g.CachedContent
	}
	if opt.Backend == gemini.Vertex {
		gr.Labels = labels(req, g)
	}
	return out, nil
}

// translation holds a translated request and what the common request's translation points at,
// so that translating it allocates once: the Gemini request, its generation and thinking config,
// the system instruction, and the turn and part of a one-message conversation.
type translation struct {
	tr      Translated
	req     gemini.Request
	gc      gemini.GenerationConfig
	think   thinkingSlot
	system  gemini.Content
	content [1]gemini.Content
	part    [1]gemini.Part
}

// generationConfigZero reports whether gc sets nothing, in which case the request leaves
// generationConfig out. It must agree with reflect.Value.IsZero (TestGenerationConfigZero sets
// each field in turn, so a field added to the struct and not here fails it).
func generationConfigZero(gc *gemini.GenerationConfig) bool {
	return gc.StopSequences == nil && gc.ResponseMIMEType == "" && gc.ResponseJSONSchema == nil &&
		gc.ResponseModalities == nil && gc.CandidateCount == nil && gc.MaxOutputTokens == nil &&
		gc.Temperature == nil && gc.TopP == nil && gc.TopK == nil && gc.Seed == nil &&
		gc.PresencePenalty == nil && gc.FrequencyPenalty == nil && !gc.ResponseLogprobs &&
		gc.Logprobs == nil && gc.MediaResolution == "" && gc.ThinkingConfig == nil
}

// tagMarker normalises thought_tag_marker to the bare tag name: "<think>" names the same tag as
// "think" (and must not become "<<think>>").
func tagMarker(m string) (string, error) {
	m = strings.TrimSpace(m)
	if m == "" {
		return "", nil
	}
	if strings.HasPrefix(m, "<") && strings.HasSuffix(m, ">") {
		m = strings.TrimSuffix(strings.TrimPrefix(m, "<"), ">")
	}
	if m == "" || strings.ContainsAny(m, "<>") {
		return "", openai.InvalidParam("google.thought_tag_marker", "thought_tag_marker must be a tag name such as \"think\"")
	}
	return m, nil
}

// google returns the Gemini extensions from "google" or "extra_body.google"; the first wins for
// each field that both set.
func google(req *openai.Request) *openai.Google {
	switch {
	case req.Google != nil && req.ExtraBody != nil && req.ExtraBody.Google != nil:
		merged := *req.ExtraBody.Google
		top := req.Google
		if top.ThinkingConfig != nil {
			merged.ThinkingConfig = top.ThinkingConfig
		}
		if top.ThoughtTagMarker != "" {
			merged.ThoughtTagMarker = top.ThoughtTagMarker
		}
		if top.SafetySettings != nil {
			merged.SafetySettings = top.SafetySettings
		}
		if top.CachedContent != "" {
			merged.CachedContent = top.CachedContent
		}
		if top.Labels != nil {
			merged.Labels = top.Labels
		}
		if top.StreamFunctionCallArguments {
			merged.StreamFunctionCallArguments = true
		}
		if top.GenerationConfig != nil {
			merged.GenerationConfig = top.GenerationConfig
		}
		return &merged
	case req.Google != nil:
		return req.Google
	case req.ExtraBody != nil:
		return req.ExtraBody.Google
	}
	return nil
}

// rejectUnsupported names the OpenAI fields Gemini has no equivalent for, instead of dropping them.
func rejectUnsupported(req *openai.Request) error {
	switch {
	case len(req.LogitBias) > 0 && string(req.LogitBias) != "null" && string(bytes.TrimSpace(req.LogitBias)) != "{}":
		return openai.NotImplemented("logit_bias", "logit_bias is not supported by Gemini")
	case len(req.Audio) > 0 && string(req.Audio) != "null":
		return openai.NotImplemented("audio", "audio output is not supported by this gateway; use modalities [\"text\",\"image\"] for image output")
	case len(req.Prediction) > 0 && string(req.Prediction) != "null":
		return openai.NotImplemented("prediction", "predicted outputs are not supported by Gemini")
	case len(req.Functions) > 0 && string(req.Functions) != "null":
		return openai.NotImplemented("functions", "the legacy functions parameter is not supported; use tools")
	case len(req.FunctionCall) > 0 && string(req.FunctionCall) != "null":
		return openai.NotImplemented("function_call", "the legacy function_call parameter is not supported; use tool_choice")
	case req.Verbosity != "":
		return openai.NotImplemented("verbosity", "verbosity is not supported by Gemini")
	case req.Store != nil && *req.Store:
		return openai.NotImplemented("store", "store: true is not supported: the gateway keeps no completions")
	case req.ServiceTier != "" && req.ServiceTier != "auto" && req.ServiceTier != "default":
		return openai.NotImplemented("service_tier", "service_tier %q is not supported", req.ServiceTier)
	case len(req.Messages) == 0:
		return openai.InvalidParam("messages", "messages must be a non-empty array")
	}
	return nil
}

// generationConfig fills gc, which is zero, from req; the thinking config is built in think.
func generationConfig(gc *gemini.GenerationConfig, think *thinkingSlot, req *openai.Request, c caps, g *openai.Google, opt RequestOptions) error {
	gc.Temperature, gc.TopP, gc.TopK, gc.Seed = req.Temperature, req.TopP, req.TopK, req.Seed
	switch {
	case req.MaxCompletionTokens != nil:
		gc.MaxOutputTokens = req.MaxCompletionTokens
	case req.MaxTokens != nil:
		gc.MaxOutputTokens = req.MaxTokens
	}
	if gc.MaxOutputTokens != nil && *gc.MaxOutputTokens < 1 {
		return openai.InvalidParam("max_tokens", "max_tokens must be at least 1")
	}
	if req.N != nil {
		if *req.N < 1 || *req.N > 8 {
			return openai.InvalidParam("n", "n must be between 1 and 8")
		}
		if *req.N > 1 {
			gc.CandidateCount = req.N
		}
	}
	if len(req.Stop) > 0 {
		if len(req.Stop) > 5 {
			return openai.InvalidParam("stop", "Gemini accepts at most 5 stop sequences")
		}
		gc.StopSequences = req.Stop
	}
	// A zero penalty is the default and a no-op; Gemini 3 rejects the fields, so omit zeros.
	if p := req.PresencePenalty; p != nil && *p != 0 {
		gc.PresencePenalty = p
	}
	if p := req.FrequencyPenalty; p != nil && *p != 0 {
		gc.FrequencyPenalty = p
	}
	if req.Logprobs != nil && *req.Logprobs {
		gc.ResponseLogprobs = true
		if req.TopLogprobs != nil {
			if *req.TopLogprobs < 0 || *req.TopLogprobs > 20 {
				return openai.InvalidParam("top_logprobs", "top_logprobs must be between 0 and 20")
			}
			gc.Logprobs = req.TopLogprobs
		}
	} else if req.TopLogprobs != nil && *req.TopLogprobs > 0 {
		return openai.InvalidParam("top_logprobs", "top_logprobs requires logprobs: true")
	}
	if err := responseFormat(req.ResponseFormat, gc); err != nil {
		return err
	}
	if err := modalities(req.Modalities, gc); err != nil {
		return err
	}
	var tc *openai.ThinkingConfig
	if g != nil {
		tc = g.ThinkingConfig
	}
	tcfg, err := thinkingInto(think, c, req.ReasoningEffort, tc, opt.IncludeThoughts)
	if err != nil {
		return err
	}
	gc.ThinkingConfig = tcfg
	if g != nil && len(g.GenerationConfig) > 0 && string(g.GenerationConfig) != "null" {
		if err := mergeGenerationConfig(gc, g.GenerationConfig); err != nil {
			return err
		}
	}
	return nil
}

func modalities(m []string, gc *gemini.GenerationConfig) error {
	if len(m) == 0 {
		return nil
	}
	var out []string
	for _, v := range m {
		switch v {
		case "text":
			out = append(out, "TEXT")
		case "image":
			out = append(out, "IMAGE")
		case "audio":
			return openai.NotImplemented("modalities", "audio output is not supported for chat models")
		default:
			return openai.InvalidParam("modalities", "unknown modality %q (want text or image)", v)
		}
	}
	gc.ResponseModalities = out
	return nil
}

// mergeGenerationConfig applies google.generation_config over the translated config, last, so
// a client can set any Gemini field. Keys may be camelCase or snake_case; unknown keys are a 400.
func mergeGenerationConfig(gc *gemini.GenerationConfig, raw json.RawMessage) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return openai.InvalidParam("generation_config", "google.generation_config must be an object")
	}
	camel := make(map[string]json.RawMessage, len(m))
	for k, v := range m {
		camel[snakeToCamel(k)] = v
	}
	b, _ := json.Marshal(camel)
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(gc); err != nil {
		return openai.InvalidParam("generation_config", "google.generation_config: %v", err)
	}
	return nil
}

func snakeToCamel(s string) string {
	if !strings.Contains(s, "_") {
		return s
	}
	var b strings.Builder
	up := false
	for _, r := range s {
		if r == '_' {
			up = true
			continue
		}
		if up && r >= 'a' && r <= 'z' {
			r -= 'a' - 'A'
		}
		up = false
		b.WriteRune(r)
	}
	return b.String()
}

// labels merges metadata and google.labels into Vertex labels. Vertex label keys and values are
// lowercase letters, digits, "_" and "-", at most 63 characters.
func labels(req *openai.Request, g *openai.Google) map[string]string {
	if len(req.Metadata) == 0 && (g == nil || len(g.Labels) == 0) {
		return nil
	}
	out := map[string]string{}
	put := func(k, v string) {
		if k = labelValue(k); k != "" {
			out[k] = labelValue(v)
		}
	}
	for k, v := range req.Metadata {
		put(k, v)
	}
	if g != nil {
		for k, v := range g.Labels {
			put(k, v)
		}
	}
	return out
}

func labelValue(s string) string {
	b := []byte(strings.ToLower(s))
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			b[i] = '_'
		}
	}
	if len(b) > 63 {
		b = b[:63]
	}
	return string(b)
}
