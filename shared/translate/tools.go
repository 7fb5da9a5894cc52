package translate

import (
	"encoding/json"
	"slices"
	"strconv"

	"github.com/geminigateway/gateway/shared/gemini"
	"github.com/geminigateway/gateway/shared/jsonschema"
	"github.com/geminigateway/gateway/shared/openai"
)

// toolsToGemini maps tools, tool_choice and web_search_options.
func toolsToGemini(req *openai.Request, model string, gr *gemini.Request, g *openai.Google) error {
	if len(req.Tools) == 0 && len(req.WebSearchOptions) == 0 && req.ToolChoice == nil {
		return nil // nothing below would be set
	}
	var decls []gemini.FunctionDeclaration
	if len(req.Tools) > 0 {
		decls = make([]gemini.FunctionDeclaration, 0, len(req.Tools))
	}
	for i, t := range req.Tools {
		if t.Type != "function" {
			f := toolField(i)
			return openai.NotImplemented(f+".type", "tool type %q is not supported (want function)", t.Type)
		}
		if t.Function == nil || t.Function.Name == "" {
			f := toolField(i)
			return openai.InvalidParam(f+".function.name", "%s.function.name is required", f)
		}
		d := gemini.FunctionDeclaration{Name: t.Function.Name, Description: t.Function.Description}
		if len(t.Function.Parameters) > 0 && string(t.Function.Parameters) != "null" {
			clean, err := jsonschema.Clean(t.Function.Parameters)
			if err != nil {
				f := toolField(i)
				return openai.InvalidParam(f+".function.parameters", "%s.function.parameters: %v", f, err)
			}
			d.ParametersJSONSchema = clean
		}
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
	var fc gemini.FunctionCallingConfig
	if tc := req.ToolChoice; tc != nil {
		switch {
		case tc.Function != "":
			if !slices.ContainsFunc(decls, func(d gemini.FunctionDeclaration) bool { return d.Name == tc.Function }) {
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
		both := &struct { // one allocation, and only here
			tc gemini.ToolConfig
			fc gemini.FunctionCallingConfig
		}{fc: fc}
		both.tc.FunctionCallingConfig = &both.fc
		gr.ToolConfig = &both.tc
	}
	return nil
}

// toolField names tools[i], for errors.
func toolField(i int) string { return "tools[" + strconv.Itoa(i) + "]" }

// responseFormat maps response_format to the response mime type and JSON schema. Gemini takes a
// JSON Schema (with $defs/$ref) in responseJsonSchema; strict is OpenAI's flag and is dropped.
// https://ai.google.dev/gemini-api/docs/structured-output
func responseFormat(rf *openai.ResponseFormat, gc *gemini.GenerationConfig) error {
	if rf == nil {
		return nil
	}
	switch rf.Type {
	case "", "text":
	case "json_object":
		gc.ResponseMIMEType = "application/json"
	case "json_schema":
		if rf.JSONSchema == nil || len(rf.JSONSchema.Schema) == 0 {
			return openai.InvalidParam("response_format.json_schema.schema", "response_format json_schema needs json_schema.schema")
		}
		clean, err := jsonschema.Clean(rf.JSONSchema.Schema)
		if err != nil {
			return openai.InvalidParam("response_format.json_schema.schema", "%v", err)
		}
		gc.ResponseMIMEType = "application/json"
		gc.ResponseJSONSchema = json.RawMessage(clean)
	default:
		return openai.InvalidParam("response_format.type", "response_format.type must be text, json_object or json_schema; got %q", rf.Type)
	}
	return nil
}
