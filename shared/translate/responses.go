package translate

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"github.com/geminigateway/gateway/shared/openai"
)

// The Responses API is served through the chat translation: a Responses request becomes the
// Chat Completions request it is equivalent to (items become messages, tools and text.format
// their chat forms) and RequestToGemini does the rest, so the part converter, the model table,
// the thinking table, schema cleaning and signature placement exist once. What the Responses
// layer adds is items (grouping, reasoning items and their encrypted_content), and on the way
// back output items and events (responses_output.go, responses_stream.go).

// ResponsesOptions are what a Responses translation needs besides chat's options.
type ResponsesOptions struct {
	RequestOptions
	// SealKey is the key of reasoning items' encrypted_content (DefaultSealKey when empty).
	SealKey []byte
}

func (o *ResponsesOptions) key() []byte {
	if len(o.SealKey) == 0 {
		return DefaultSealKey
	}
	return o.SealKey
}

// Include values the gateway honours.
const (
	IncludeEncrypted = "reasoning.encrypted_content"
	IncludeLogprobs  = "message.output_text.logprobs"
	IncludeSources   = "web_search_call.action.sources"
)

// ResponsesToGemini translates a decoded Responses request whose item_references the caller has
// already resolved. Every error is an *openai.Error naming the offending Responses field. It does
// not modify req.
func ResponsesToGemini(ctx context.Context, req *openai.ResponsesRequest, models *Models, opt ResponsesOptions) (*Translated, error) {
	if err := refuseResponses(req); err != nil {
		return nil, err
	}
	cr, from, err := ResponsesToChat(req, opt)
	if err != nil {
		return nil, err
	}
	tr, err := RequestToGemini(ctx, cr, models, opt.RequestOptions)
	if err != nil {
		return nil, renameParam(err, from)
	}
	if m := req.MaxToolCalls; m != nil && (tr.MaxToolCalls == 0 || *m < tr.MaxToolCalls) {
		tr.MaxToolCalls = *m
	}
	return tr, nil
}

// refuseResponses names the fields the gateway cannot honour.
func refuseResponses(req *openai.ResponsesRequest) error {
	set := func(raw json.RawMessage) bool {
		s := strings.TrimSpace(string(raw))
		return s != "" && s != "null" && s != "false"
	}
	switch {
	case set(req.Background):
		return openai.NotImplemented("background", "background responses are not supported by this gateway")
	case set(req.Conversation):
		return openai.NotImplemented("conversation", "conversations are not supported by this gateway; use previous_response_id")
	case set(req.Prompt):
		return openai.NotImplemented("prompt", "prompt templates are not supported by this gateway")
	case req.ServiceTier != "" && req.ServiceTier != "auto" && req.ServiceTier != "default":
		return openai.NotImplemented("service_tier", "service_tier %q is not supported", req.ServiceTier)
	case req.Truncation != "" && req.Truncation != "disabled":
		return openai.NotImplemented("truncation", "truncation %q is not supported: the gateway never drops input items", req.Truncation)
	case req.MaxToolCalls != nil && *req.MaxToolCalls < 1:
		return openai.InvalidParam("max_tool_calls", "max_tool_calls must be at least 1")
	case req.Text != nil && req.Text.Verbosity != "":
		return openai.NotImplemented("text.verbosity", "text.verbosity is not supported by Gemini")
	}
	for i, inc := range req.Include {
		switch inc {
		case IncludeEncrypted, IncludeLogprobs, IncludeSources:
		default:
			return openai.NotImplemented("include["+strconv.Itoa(i)+"]", "include %q is not supported", inc)
		}
	}
	return nil
}

// Includes reports whether req's include lists v.
func Includes(req *openai.ResponsesRequest, v string) bool {
	for _, inc := range req.Include {
		if inc == v {
			return true
		}
	}
	return false
}

// ResponsesToChat builds the chat request equivalent to req. from maps each message index to the
// input item it came from (-1: instructions), so errors name input items.
func ResponsesToChat(req *openai.ResponsesRequest, opt ResponsesOptions) (*openai.Request, []int, error) {
	cr := &openai.Request{
		Model:               req.Model,
		Stream:              req.Stream,
		MaxCompletionTokens: req.MaxOutputTokens,
		Temperature:         req.Temperature,
		TopP:                req.TopP,
		Metadata:            req.Metadata,
		User:                req.User,
		SafetyIdentifier:    req.SafetyIdentifier,
		PromptCacheKey:      req.PromptCacheKey,
		ParallelToolCalls:   req.ParallelToolCalls,
		ServiceTier:         req.ServiceTier,
	}
	if req.Reasoning != nil {
		cr.ReasoningEffort = req.Reasoning.Effort
	}
	if err := toolsToChat(req, cr); err != nil {
		return nil, nil, err
	}
	if f := textFormat(req); f != nil {
		cr.ResponseFormat = f
	}
	if req.TopLogprobs != nil || Includes(req, IncludeLogprobs) {
		t := true
		cr.Logprobs = &t
		cr.TopLogprobs = req.TopLogprobs
	}
	cr.Google = responsesGoogle(req)

	ic := itemConverter{key: opt.key()}
	if req.Instructions != "" {
		ic.push(openai.Message{Role: "system", Content: openai.Content{Text: req.Instructions}}, -1)
	}
	if !req.Input.IsItems {
		if req.Input.Text == "" {
			return nil, nil, openai.InvalidParam("input", "input must be a non-empty string or a list of items")
		}
		ic.push(openai.Message{Role: "user", Content: openai.Content{Text: req.Input.Text}}, 0)
	}
	for i := range req.Input.Items {
		if err := ic.item(&req.Input.Items[i], i); err != nil {
			return nil, nil, err
		}
	}
	if len(ic.msgs) == 0 || (len(ic.msgs) == 1 && ic.from[0] == -1) {
		return nil, nil, openai.InvalidParam("input", "input must hold at least one message")
	}
	cr.Messages = ic.msgs
	return cr, ic.from, nil
}

// responsesGoogle returns the Gemini extensions with reasoning.summary applied: thoughts are
// asked for when a summary is (auto, concise, detailed), and not when it is none, unless the
// client set google.thinking_config.include_thoughts itself.
func responsesGoogle(req *openai.ResponsesRequest) *openai.Google {
	summary := ""
	if req.Reasoning != nil {
		summary = req.Reasoning.Summary
		if summary == "" {
			summary = req.Reasoning.GenerateSummary
		}
	}
	if summary == "" {
		return req.Google
	}
	g := &openai.Google{}
	if req.Google != nil {
		*g = *req.Google
	}
	tc := &openai.ThinkingConfig{}
	if g.ThinkingConfig != nil {
		*tc = *g.ThinkingConfig
	}
	if tc.IncludeThoughts == nil {
		inc := summary != "none"
		tc.IncludeThoughts = &inc
	}
	g.ThinkingConfig = tc
	return g
}

// toolsToChat maps function tools to chat's nested form and web_search to web_search_options;
// every other hosted tool is refused by name.
func toolsToChat(req *openai.ResponsesRequest, cr *openai.Request) error {
	for i, t := range req.Tools {
		f := "tools[" + strconv.Itoa(i) + "]"
		switch t.Type {
		case "function":
			if t.Name == "" {
				return openai.InvalidParam(f+".name", "%s.name is required", f)
			}
			cr.Tools = append(cr.Tools, openai.Tool{Type: "function", Function: &openai.FunctionDecl{
				Name: t.Name, Description: t.Description, Parameters: t.Parameters, Strict: t.Strict}})
		case "web_search", "web_search_preview", "web_search_2025_08_26", "web_search_preview_2025_03_11":
			cr.WebSearchOptions = json.RawMessage(`{}`)
		default:
			return openai.NotImplemented(f+".type", "tool type %q is not supported (function and web_search are)", t.Type)
		}
	}
	if tc := req.ToolChoice; tc != nil {
		switch {
		case tc.Function != "":
			cr.ToolChoice = &openai.ToolChoice{Function: tc.Function}
		case tc.Hosted != "":
			if !strings.HasPrefix(tc.Hosted, "web_search") || len(cr.WebSearchOptions) == 0 {
				return openai.NotImplemented("tool_choice", "tool_choice %q is not supported", tc.Hosted)
			}
			// Gemini cannot be made to search; grounding is on and the model decides.
			cr.ToolChoice = &openai.ToolChoice{Mode: "auto"}
		default:
			cr.ToolChoice = &openai.ToolChoice{Mode: tc.Mode}
		}
	}
	return nil
}

// textFormat maps text.format to chat's response_format: the schema travels the same way.
func textFormat(req *openai.ResponsesRequest) *openai.ResponseFormat {
	if req.Text == nil || req.Text.Format == nil {
		return nil
	}
	f := req.Text.Format
	switch f.Type {
	case "json_schema":
		return &openai.ResponseFormat{Type: "json_schema", JSONSchema: &openai.JSONSchema{
			Name: f.Name, Description: f.Description, Schema: f.Schema, Strict: f.Strict}}
	case "text", "":
		return nil
	}
	return &openai.ResponseFormat{Type: f.Type}
}

// itemConverter turns input items into chat messages. A model turn's items (an assistant
// message, reasoning, function calls) become one assistant message, so parallel calls stay in
// one Gemini turn with the signature on the first.
type itemConverter struct {
	key  []byte
	msgs []openai.Message
	from []int
	// open reports whether the last message is an assistant message still taking items.
	open bool
	// sig holds the signatures of the last reasoning item, for the items after it; calls and
	// images count the function calls and images since, for finding a signature by position.
	sig    sealed
	calls  int
	images int
}

func (ic *itemConverter) push(m openai.Message, from int) {
	ic.msgs = append(ic.msgs, m)
	ic.from = append(ic.from, from)
	ic.open = m.Role == "assistant"
}

// assistant returns the open assistant message, opening one for input item i if needed.
func (ic *itemConverter) assistant(i int) *openai.Message {
	if !ic.open {
		ic.push(openai.Message{Role: "assistant", Content: openai.Content{IsParts: true}}, i)
		ic.sig, ic.calls, ic.images = sealed{}, 0, 0
	}
	return &ic.msgs[len(ic.msgs)-1]
}

func itemPath(i int) string { return "input[" + strconv.Itoa(i) + "]" }

func (ic *itemConverter) item(it *openai.Item, i int) error {
	f := itemPath(i)
	typ := it.Type
	if typ == "" && it.Role != "" {
		typ = openai.ItemMessage
	}
	switch typ {
	case openai.ItemMessage:
		return ic.message(it, i)
	case openai.ItemFunctionCall:
		if it.CallID == "" || it.Name == "" {
			return openai.InvalidParam(f, "%s: a function_call needs call_id and name", f)
		}
		args := "{}"
		if it.Arguments != nil && strings.TrimSpace(*it.Arguments) != "" {
			args = *it.Arguments
		}
		m := ic.assistant(i)
		tc := openai.ToolCall{ID: it.CallID, Type: "function", Function: openai.FunctionCall{Name: it.Name, Arguments: args}}
		if s := ic.sig.callSig(it.CallID, ic.calls); s != "" && SignatureFromCallID(it.CallID) == "" {
			tc.ExtraContent = &openai.ExtraContent{Google: &openai.GoogleExtra{ThoughtSignature: s}}
		}
		ic.calls++
		m.ToolCalls = append(m.ToolCalls, tc)
	case openai.ItemFunctionCallOutput:
		if it.CallID == "" {
			return openai.InvalidParam(f+".call_id", "%s.call_id is required", f)
		}
		if it.Output == nil {
			return openai.InvalidParam(f+".output", "%s.output is required", f)
		}
		text := it.Output.Text
		if it.Output.IsParts {
			var b strings.Builder
			for j, p := range it.Output.Parts {
				if p.Type != "input_text" && p.Type != "output_text" {
					return openai.NotImplemented(f+".output["+strconv.Itoa(j)+"].type", "function_call_output parts of type %q are not supported (input_text is)", p.Type)
				}
				b.WriteString(p.Text)
			}
			text = b.String()
		}
		ic.push(openai.Message{Role: "tool", ToolCallID: it.CallID, Content: openai.Content{Text: text}}, i)
	case openai.ItemReasoning:
		m := ic.assistant(i)
		if it.EncryptedContent != nil && *it.EncryptedContent != "" {
			s, ok := unseal(ic.key, *it.EncryptedContent)
			if !ok {
				return openai.InvalidParam(f+".encrypted_content", "%s.encrypted_content was not issued by this gateway or was modified", f)
			}
			ic.sig, ic.calls, ic.images = s, 0, 0
			if s.Text != "" {
				m.ExtraContent = &openai.ExtraContent{Google: &openai.GoogleExtra{ThoughtSignature: s.Text}}
			}
		}
		// The summary is the model's thought text: Gemini takes no thoughts back, only signatures.
	case openai.ItemImageGeneration:
		if it.Result == nil || *it.Result == "" {
			return openai.InvalidParam(f+".result", "%s.result is required", f)
		}
		format := it.OutputFormat
		if format == "" {
			format = "png"
		}
		m := ic.assistant(i)
		im := openai.Image{Type: "image_url", ImageURL: openai.ImageURL{URL: "data:image/" + format + ";base64," + *it.Result}}
		if ic.images < len(ic.sig.Images) && ic.sig.Images[ic.images] != "" {
			im.ExtraContent = &openai.ExtraContent{Google: &openai.GoogleExtra{ThoughtSignature: ic.sig.Images[ic.images]}}
		}
		ic.images++
		m.Images = append(m.Images, im)
	case openai.ItemWebSearchCall:
		// Grounding has no history form; its results live in the answer's text and citations.
	case openai.ItemReference:
		return openai.InvalidParam(f, "%s: item_reference %q was not found among this key's stored responses", f, it.ID)
	case "":
		return openai.InvalidParam(f+".type", "%s.type is required", f)
	default:
		return openai.NotImplemented(f+".type", "input item type %q is not supported", typ)
	}
	return nil
}

func (ic *itemConverter) message(it *openai.Item, i int) error {
	f := itemPath(i)
	if it.Content == nil {
		return openai.InvalidParam(f+".content", "%s.content is required", f)
	}
	var parts []openai.Part
	if it.Content.IsParts {
		parts = make([]openai.Part, 0, len(it.Content.Parts))
		for j := range it.Content.Parts {
			p, err := chatPart(&it.Content.Parts[j], it.Role, f+".content["+strconv.Itoa(j)+"]")
			if err != nil {
				return err
			}
			parts = append(parts, p)
		}
	}
	switch it.Role {
	case "assistant":
		m := ic.assistant(i)
		if it.Content.IsParts {
			m.Content.Parts = append(m.Content.Parts, parts...)
		} else if it.Content.Text != "" {
			m.Content.Parts = append(m.Content.Parts, openai.Part{Type: "text", Text: it.Content.Text})
		}
	case "user", "system", "developer":
		c := openai.Content{Text: it.Content.Text, Parts: parts, IsParts: it.Content.IsParts}
		ic.push(openai.Message{Role: it.Role, Content: c}, i)
	case "":
		return openai.InvalidParam(f+".role", "%s.role is required", f)
	default:
		return openai.InvalidParam(f+".role", "unknown role %q (want user, assistant, system or developer)", it.Role)
	}
	return nil
}

// chatPart maps a Responses content part to the chat part the shared part converter reads.
func chatPart(p *openai.ItemPart, role, f string) (openai.Part, error) {
	switch p.Type {
	case "input_text", "output_text":
		return openai.Part{Type: "text", Text: p.Text}, nil
	case "refusal":
		return openai.Part{Type: "refusal", Refusal: p.Refusal}, nil
	case "input_image":
		u := p.ImageURL
		if u == "" {
			u = p.FileID
		}
		if u == "" {
			return openai.Part{}, openai.InvalidParam(f+".image_url", "%s needs image_url or file_id", f)
		}
		return openai.Part{Type: "image_url", ImageURL: &openai.ImageURL{URL: u, Detail: p.Detail}}, nil
	case "input_file":
		file := &openai.File{FileData: p.FileData, FileID: p.FileID, Filename: p.Filename}
		if file.FileID == "" {
			file.FileID = p.FileURL
		}
		return openai.Part{Type: "file", File: file}, nil
	case "input_audio":
		return openai.Part{Type: "input_audio", InputAudio: p.InputAudio}, nil
	case "":
		return openai.Part{}, openai.InvalidParam(f+".type", "%s.type is required", f)
	}
	return openai.Part{}, openai.NotImplemented(f+".type", "content part type %q is not supported in %s messages", p.Type, role)
}

// renameParam rewrites an error's param from the chat request's names to the Responses
// request's: messages[i] becomes the input item it came from, and the few top-level fields whose
// names differ are renamed.
func renameParam(err error, from []int) error {
	var e *openai.Error
	if !errors.As(err, &e) || e.Param == "" {
		return err
	}
	c := *e
	p := c.Param
	if rest, ok := strings.CutPrefix(p, "messages["); ok {
		if n, tail, ok := strings.Cut(rest, "]"); ok {
			if k, err := strconv.Atoi(n); err == nil && k < len(from) {
				switch {
				case from[k] < 0:
					p = "instructions"
				default:
					p = itemPath(from[k]) + strings.NewReplacer(".image_url.url", ".image_url", ".file.", ".", ".tool_call_id", ".call_id").Replace(tail)
				}
			}
		}
	} else {
		switch {
		case p == "max_tokens" || p == "max_completion_tokens":
			p = "max_output_tokens"
		case strings.HasPrefix(p, "response_format") || p == "generation_config" && strings.Contains(c.Message, "schema"):
			p = "text.format"
		case p == "reasoning_effort":
			p = "reasoning.effort"
		case p == "web_search_options":
			p = "tools"
		case strings.HasPrefix(p, "tools[") && strings.Contains(p, ".function."):
			p = strings.Replace(p, ".function.", ".", 1)
		}
	}
	if p != c.Param {
		c.Message = strings.ReplaceAll(c.Message, c.Param, p)
		c.Param = p
	}
	return &c
}
