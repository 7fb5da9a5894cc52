package translate

// This file keeps, as a test-only reference, the translation as it was before the
// allocation work of issue 16 (RequestToGemini, Resolve, the message loop, generationConfig,
// thinkingConfig, toolsToGemini and ResponseFromGemini), so the fuzz targets named
// Fuzz…MatchesReference can hold the rewritten code to it.

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/geminigateway/gateway/shared/gemini"
	"github.com/geminigateway/gateway/shared/jsonschema"
	"github.com/geminigateway/gateway/shared/openai"
)

func refRequestToGemini(ctx context.Context, req *openai.Request, models *Models, opt RequestOptions) (*Translated, error) {
	if err := rejectUnsupported(req); err != nil {
		return nil, err
	}
	model, err := refResolve(models, req.Model)
	if err != nil {
		return nil, err
	}
	g := google(req)
	out := &Translated{Model: model, Stream: req.Stream, Request: &gemini.Request{}}
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

	// The two passes that read the model's capabilities see only gen3, taken from the name
	// (IsGemini3) rather than the model table.
	cv := &contentConverter{ctx: ctx, opt: opt, out: out, caps: caps{gen3: IsGemini3(model)}}
	if err := refMessages(cv, model, req.Messages); err != nil {
		return nil, err
	}
	gr := out.Request
	gr.Contents = cv.contents
	gr.SystemInstruction = cv.system

	if err := refToolsToGemini(req, model, gr, g); err != nil {
		return nil, err
	}
	gc, err := refGenerationConfig(req, model, g, opt)
	if err != nil {
		return nil, err
	}
	if cv.resolution != "" && gc.MediaResolution == "" {
		gc.MediaResolution = cv.resolution
	}
	if !reflect.ValueOf(gc).Elem().IsZero() { // through the pointer: no copy of the struct into an interface
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
func refGenerationConfig(req *openai.Request, model string, g *openai.Google, opt RequestOptions) (*gemini.GenerationConfig, error) {
	gc := &gemini.GenerationConfig{
		Temperature: req.Temperature,
		TopP:        req.TopP,
		TopK:        req.TopK,
		Seed:        req.Seed,
	}
	switch {
	case req.MaxCompletionTokens != nil:
		gc.MaxOutputTokens = req.MaxCompletionTokens
	case req.MaxTokens != nil:
		gc.MaxOutputTokens = req.MaxTokens
	}
	if gc.MaxOutputTokens != nil && *gc.MaxOutputTokens < 1 {
		return nil, openai.InvalidParam("max_tokens", "max_tokens must be at least 1")
	}
	if req.N != nil {
		if *req.N < 1 || *req.N > 8 {
			return nil, openai.InvalidParam("n", "n must be between 1 and 8")
		}
		if *req.N > 1 {
			gc.CandidateCount = req.N
		}
	}
	if len(req.Stop) > 0 {
		if len(req.Stop) > 5 {
			return nil, openai.InvalidParam("stop", "Gemini accepts at most 5 stop sequences")
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
				return nil, openai.InvalidParam("top_logprobs", "top_logprobs must be between 0 and 20")
			}
			gc.Logprobs = req.TopLogprobs
		}
	} else if req.TopLogprobs != nil && *req.TopLogprobs > 0 {
		return nil, openai.InvalidParam("top_logprobs", "top_logprobs requires logprobs: true")
	}
	if err := responseFormat(req.ResponseFormat, gc); err != nil {
		return nil, err
	}
	if err := modalities(req.Modalities, gc); err != nil {
		return nil, err
	}
	var tc *openai.ThinkingConfig
	if g != nil {
		tc = g.ThinkingConfig
	}
	think, err := refThinkingConfig(model, req.ReasoningEffort, tc, opt.IncludeThoughts)
	if err != nil {
		return nil, err
	}
	gc.ThinkingConfig = think
	if g != nil && len(g.GenerationConfig) > 0 && string(g.GenerationConfig) != "null" {
		if err := mergeGenerationConfig(gc, g.GenerationConfig); err != nil {
			return nil, err
		}
	}
	return gc, nil
}

func refResolve(m *Models, name string) (string, error) {
	if name == "" {
		return "", openai.InvalidParam("model", "model is required")
	}
	n := strings.TrimPrefix(name, "google/")
	n = strings.TrimPrefix(n, "models/")
	if id, ok := m.aliases[n]; ok {
		return id, nil
	}
	if strings.HasPrefix(n, "gemini-") && validModelID(n) {
		return n, nil
	}
	return "", openai.Errorf(http.StatusNotFound, openai.CodeModelNotFound, "model",
		"The model %q does not exist or is not served by this gateway (use a gemini-* model id or one of GET /v1/models)", name)
}

func refMessages(cv *contentConverter, model string, msgs []openai.Message) error {
	cv.calls = map[string]callRef{}
	for i := range msgs {
		if i%cancelEvery == 0 {
			if err := cv.ctx.Err(); err != nil {
				return err
			}
		}
		m := &msgs[i]
		if m.Role == "user" && !m.Content.IsParts && !m.Content.IsNull {
			// The common case, without the allocations of the general path.
			cv.flushResults()
			refAddPart(cv, "user", gemini.Part{Text: m.Content.Text})
			continue
		}
		field := "messages[" + strconv.Itoa(i) + "]"
		switch m.Role {
		case "system", "developer":
			text, err := textOnly(m.Content, i)
			if err != nil {
				return err
			}
			if cv.system == nil {
				cv.system = &gemini.Content{}
			}
			cv.system.Parts = append(cv.system.Parts, gemini.Part{Text: text})
		case "user":
			cv.flushResults()
			parts, err := cv.userParts(m.Content, i)
			if err != nil {
				return err
			}
			cv.add("user", parts)
		case "assistant":
			cv.flushResults()
			parts, err := cv.assistantParts(m, i)
			if err != nil {
				return err
			}
			if len(parts) > 0 {
				cv.add("model", parts)
			}
		case "tool", "function":
			if err := cv.toolResult(m, i); err != nil {
				return err
			}
		case "":
			return openai.InvalidParam(field+".role", "%s.role is required", field)
		default:
			return openai.InvalidParam(field+".role", "unknown role %q (want system, developer, user, assistant or tool)", m.Role)
		}
	}
	cv.flushResults()
	cv.globalResolution()
	if err := cv.registerFetches(); err != nil {
		return err
	}
	if len(cv.contents) == 0 {
		return openai.InvalidParam("messages", "messages must contain at least one user, assistant or tool message")
	}
	cv.fillMissingSignatures()
	return nil
}
func refAddPart(cv *contentConverter, role string, p gemini.Part) {
	if n := len(cv.contents); n > 0 && cv.contents[n-1].Role == role && !cv.lastResults {
		cv.contents[n-1].Parts = append(cv.contents[n-1].Parts, p)
		return
	}
	cv.contents = append(cv.contents, gemini.Content{Role: role, Parts: []gemini.Part{p}})
	cv.lastResults = false
}

var refBudgetFor = map[string]int{"none": 0, "minimal": 1024, "low": 1024, "medium": 8192, "high": 24576}

func refThinkingConfig(model string, effort string, tc *openai.ThinkingConfig, includeDefault bool) (*gemini.ThinkingConfig, error) {
	c := capsOf(model)
	out := &gemini.ThinkingConfig{}
	if effort != "" {
		if _, ok := refBudgetFor[effort]; !ok {
			return nil, openai.InvalidParam("reasoning_effort", "reasoning_effort must be one of none, minimal, low, medium, high; got %q", effort)
		}
		if tc != nil && (tc.ThinkingBudget != nil || tc.ThinkingLevel != "") {
			return nil, openai.InvalidParam("reasoning_effort", "reasoning_effort and google.thinking_config thinking_budget/thinking_level are mutually exclusive")
		}
	}
	if tc != nil && tc.ThinkingBudget != nil && tc.ThinkingLevel != "" {
		return nil, openai.InvalidParam("thinking_config", "thinking_budget and thinking_level cannot both be set")
	}
	switch {
	case tc != nil && tc.ThinkingLevel != "":
		lvl := strings.ToLower(tc.ThinkingLevel)
		if _, ok := refBudgetFor[lvl]; !ok || lvl == "none" {
			return nil, openai.InvalidParam("thinking_config.thinking_level", "thinking_level must be one of minimal, low, medium, high; got %q", tc.ThinkingLevel)
		}
		if c.gen3 {
			out.ThinkingLevel = clampLevel(c, lvl)
		} else {
			b := clampBudget(c, refBudgetFor[lvl])
			out.ThinkingBudget = &b
		}
	case tc != nil && tc.ThinkingBudget != nil:
		b := *tc.ThinkingBudget
		if b < -1 {
			return nil, openai.InvalidParam("thinking_config.thinking_budget", "thinking_budget must be -1 (dynamic), 0 (off) or positive; got %d", b)
		}
		if b != -1 && !c.gen3 {
			b = clampBudget(c, b)
		}
		// Gemini 3 still accepts thinkingBudget for compatibility; pass what was asked.
		out.ThinkingBudget = &b
	case effort != "":
		if c.gen3 {
			out.ThinkingLevel = clampLevel(c, effort)
		} else if c.thinks {
			b := clampBudget(c, refBudgetFor[effort])
			out.ThinkingBudget = &b
		}
	}
	include := includeDefault && c.thinks
	if tc != nil && tc.IncludeThoughts != nil {
		include = *tc.IncludeThoughts
	}
	if out.ThinkingBudget != nil && *out.ThinkingBudget == 0 {
		include = false // thinking is off: includeThoughts would be rejected
	}
	if include {
		t := true
		out.IncludeThoughts = &t
	} else if tc != nil && tc.IncludeThoughts != nil {
		f := false
		out.IncludeThoughts = &f
	}
	if out.IncludeThoughts == nil && out.ThinkingBudget == nil && out.ThinkingLevel == "" {
		return nil, nil
	}
	return out, nil
}

func refToolsToGemini(req *openai.Request, model string, gr *gemini.Request, g *openai.Google) error {
	var decls []gemini.FunctionDeclaration
	names := map[string]bool{}
	for i, t := range req.Tools {
		f := fmt.Sprintf("tools[%d]", i)
		if t.Type != "function" {
			return openai.NotImplemented(f+".type", "tool type %q is not supported (want function)", t.Type)
		}
		if t.Function == nil || t.Function.Name == "" {
			return openai.InvalidParam(f+".function.name", "%s.function.name is required", f)
		}
		d := gemini.FunctionDeclaration{Name: t.Function.Name, Description: t.Function.Description}
		if len(t.Function.Parameters) > 0 && string(t.Function.Parameters) != "null" {
			clean, err := jsonschema.Clean(t.Function.Parameters)
			if err != nil {
				return openai.InvalidParam(f+".function.parameters", "%s.function.parameters: %v", f, err)
			}
			d.ParametersJSONSchema = clean
		}
		names[d.Name] = true
		decls = append(decls, d)
	}
	if len(decls) > 0 {
		gr.Tools = append(gr.Tools, gemini.Tool{FunctionDeclarations: decls})
	}
	if len(req.WebSearchOptions) > 0 && string(req.WebSearchOptions) != "null" {
		// web_search_options -> Google Search grounding; sources come back as url_citation
		// annotations. Before Gemini 3 the API rejects search mixed with function declarations
		// (litellm#23337), so say so instead of letting the upstream 400 confuse the client.
		if len(decls) > 0 && !IsGemini3(model) {
			return openai.NotImplemented("web_search_options", "web_search_options cannot be combined with function tools on %s; use a Gemini 3 model or drop one of them", model)
		}
		gr.Tools = append(gr.Tools, gemini.Tool{GoogleSearch: &struct{}{}})
	}
	fc := &gemini.FunctionCallingConfig{}
	if tc := req.ToolChoice; tc != nil {
		switch {
		case tc.Function != "":
			if !names[tc.Function] {
				return openai.InvalidParam("tool_choice", "tool_choice names function %q, which is not in tools", tc.Function)
			}
			fc.Mode, fc.AllowedFunctionNames = "ANY", []string{tc.Function}
		case tc.Mode == "none":
			fc.Mode = "NONE"
		case tc.Mode == "auto":
			fc.Mode = "AUTO"
		case tc.Mode == "required":
			if len(decls) == 0 {
				return openai.InvalidParam("tool_choice", "tool_choice required needs tools")
			}
			fc.Mode = "ANY"
		default:
			return openai.InvalidParam("tool_choice", "tool_choice must be none, auto, required or a named function; got %q", tc.Mode)
		}
	}
	// Gemini streams arguments only on streamGenerateContent and only for declared functions;
	// elsewhere the flag means nothing, so it is not sent (Vertex documents it for streamed
	// requests with tools: seed 004).
	if g != nil && g.StreamFunctionCallArguments && req.Stream && len(decls) > 0 {
		fc.StreamFunctionCallArguments = true
	}
	if fc.Mode != "" || fc.StreamFunctionCallArguments {
		gr.ToolConfig = &gemini.ToolConfig{FunctionCallingConfig: fc}
	}
	return nil
}

// refResponseFromGemini is ResponseFromGemini before issue 16.
func refResponseFromGemini(r *gemini.Response, m Meta) (*openai.Response, error) {
	out := &openai.Response{ID: m.ID, Object: "chat.completion", Created: m.Created, Model: m.Model,
		Usage: usageFromGemini(r.UsageMetadata)}
	if len(r.Candidates) == 0 {
		if r.PromptFeedback != nil && r.PromptFeedback.BlockReason != "" {
			// The prompt was blocked: Gemini answers 200 with no candidates (sample 11).
			reason := "content_filter"
			out.Choices = []openai.Choice{{Index: 0, Message: openai.OutMessage{Role: "assistant"},
				FinishReason: &reason, NativeFinishReason: r.PromptFeedback.BlockReason}}
			return out, nil
		}
		return nil, openai.Errorf(http.StatusBadGateway, openai.CodeUpstreamError, "", "Gemini returned no candidates")
	}
	out.Choices = make([]openai.Choice, 0, len(r.Candidates))
	for i := range r.Candidates {
		c := &r.Candidates[i]
		st := &choiceState{}
		var a accum
		if c.Content != nil {
			m.addParts(st, &a, c.Content.Parts, false)
		}
		m.closeThought(st, &a)
		reason, ok := finishReason(c.FinishReason, len(a.calls) > 0)
		if !ok && !a.hasContent && len(a.calls) == 0 && len(a.images) == 0 {
			return nil, abnormalError(c)
		}
		d := a.delta()
		ch := openai.Choice{Index: c.Index, FinishReason: &reason, Logprobs: logprobsFromGemini(c.LogprobsResult),
			Message: openai.OutMessage{Role: "assistant", Content: d.Content, ReasoningContent: d.ReasoningContent,
				ToolCalls: d.ToolCalls, Audio: d.Audio, Images: d.Images, ExtraContent: d.ExtraContent,
				Annotations: annotationsFromGrounding(c.GroundingMetadata)}}
		if c.FinishReason != "STOP" && c.FinishReason != "" {
			ch.NativeFinishReason = c.FinishReason
		}
		out.Choices = append(out.Choices, ch)
	}
	return out, nil
}
