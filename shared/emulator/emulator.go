// Package emulator is an offline Gemini: an http.Handler answering generateContent and
// streamGenerateContent at the Developer API and Vertex AI paths with deterministic text,
// thoughts, function calls and usage, and batchEmbedContents (Developer) and predict (Vertex)
// with deterministic embeddings, so the whole gateway runs with no cloud account.
package emulator

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/geminigateway/gateway/shared/gemini"
)

// Handler is the emulator.
type Handler struct{}

// ServeHTTP answers POST …/models/{model}:generateContent and :streamGenerateContent?alt=sse,
// and the embedding methods.
func (Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	i := strings.LastIndex(r.URL.Path, "/models/")
	if r.Method != http.MethodPost || i < 0 {
		writeError(w, http.StatusNotFound, "NOT_FOUND", "no such method: "+r.Method+" "+r.URL.Path)
		return
	}
	model, method, ok := strings.Cut(r.URL.Path[i+len("/models/"):], ":")
	if ok && (method == "batchEmbedContents" || method == "predict") {
		embed(w, r, model, method)
		return
	}
	if !ok || (method != "generateContent" && method != "streamGenerateContent") {
		writeError(w, http.StatusNotFound, "NOT_FOUND", "unknown method "+method)
		return
	}
	if !strings.HasPrefix(model, "gemini-") {
		writeError(w, http.StatusNotFound, "NOT_FOUND", fmt.Sprintf("models/%s is not found for API version v1beta", model))
		return
	}
	var req gemini.Request
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "Invalid JSON payload received. "+err.Error())
		return
	}
	if len(req.Contents) == 0 {
		writeError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "* GenerateContentRequest.contents: contents is not specified")
		return
	}
	ans := answer(model, &req)
	if method == "generateContent" {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(ans.unary())
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	flusher, _ := w.(http.Flusher)
	for _, ev := range ans.events() {
		b, _ := json.Marshal(ev)
		fmt.Fprintf(w, "data: %s\r\n\r\n", b)
		if flusher != nil {
			flusher.Flush()
		}
	}
}

func writeError(w http.ResponseWriter, code int, status, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": code, "message": msg, "status": status}})
}

// reply is the emulator's deterministic answer to one request.
type reply struct {
	model      string
	thought    string
	words      []string
	call       *gemini.FunctionCall
	finish     string
	candidates int
	prompt     int
}

func answer(model string, req *gemini.Request) *reply {
	last := lastUserText(req)
	r := &reply{model: model, finish: "STOP", candidates: 1, prompt: tokens(allText(req))}
	gc := req.GenerationConfig
	if gc != nil && gc.CandidateCount != nil {
		r.candidates = *gc.CandidateCount
	}
	if gc != nil && gc.ThinkingConfig != nil && gc.ThinkingConfig.IncludeThoughts != nil && *gc.ThinkingConfig.IncludeThoughts {
		r.thought = "**Considering the request**\n\nThe user wrote " + quote(last) + ". I will answer briefly."
	}
	if fc := forcedCall(req); fc != nil {
		r.call = fc
		return r
	}
	text := "This is the offline Gemini emulator answering as " + model + ". You said: " + quote(last)
	if gc != nil && gc.ResponseMIMEType == "application/json" {
		b, _ := json.Marshal(map[string]string{"model": model, "echo": last})
		text = string(b)
	}
	r.words = strings.SplitAfter(text, " ")
	if gc != nil && gc.MaxOutputTokens != nil && *gc.MaxOutputTokens < len(r.words) {
		r.words = r.words[:*gc.MaxOutputTokens]
		r.finish = "MAX_TOKENS"
	}
	return r
}

// forcedCall calls the first allowed function when the request forces a call (mode ANY), with
// arguments {} — enough to drive a client's tool loop offline.
func forcedCall(req *gemini.Request) *gemini.FunctionCall {
	if req.ToolConfig == nil || req.ToolConfig.FunctionCallingConfig == nil || req.ToolConfig.FunctionCallingConfig.Mode != "ANY" {
		return nil
	}
	if n := len(req.Contents); n > 0 {
		for _, p := range req.Contents[n-1].Parts {
			if p.FunctionResponse != nil {
				return nil // answer the results with text
			}
		}
	}
	fcc := req.ToolConfig.FunctionCallingConfig
	if len(fcc.AllowedFunctionNames) > 0 {
		return &gemini.FunctionCall{Name: fcc.AllowedFunctionNames[0], Args: json.RawMessage("{}")}
	}
	for _, t := range req.Tools {
		if len(t.FunctionDeclarations) > 0 {
			return &gemini.FunctionCall{Name: t.FunctionDeclarations[0].Name, Args: json.RawMessage("{}")}
		}
	}
	return nil
}

func lastUserText(req *gemini.Request) string {
	for i := len(req.Contents) - 1; i >= 0; i-- {
		c := req.Contents[i]
		if c.Role != "user" {
			continue
		}
		var b strings.Builder
		for _, p := range c.Parts {
			b.WriteString(p.Text)
		}
		if s := strings.TrimSpace(b.String()); s != "" {
			return s
		}
	}
	return ""
}

func allText(req *gemini.Request) string {
	var b strings.Builder
	if req.SystemInstruction != nil {
		for _, p := range req.SystemInstruction.Parts {
			b.WriteString(p.Text)
		}
	}
	for _, c := range req.Contents {
		for _, p := range c.Parts {
			b.WriteString(p.Text)
			b.WriteByte(' ')
		}
	}
	return b.String()
}

func quote(s string) string {
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return "\"" + s + "\""
}

// tokens estimates tokens as Gemini's rule of thumb: about four characters each.
func tokens(s string) int { return (len(s) + 3) / 4 }

const signature = "ZW11bGF0b3Itc2lnbmF0dXJl" // base64("emulator-signature")

func (r *reply) parts() (thought *gemini.Part, content []gemini.Part) {
	if r.thought != "" {
		thought = &gemini.Part{Text: r.thought, Thought: true}
	}
	if r.call != nil {
		return thought, []gemini.Part{{FunctionCall: r.call, ThoughtSignature: signature}}
	}
	return thought, []gemini.Part{{Text: strings.Join(r.words, "")}}
}

func (r *reply) usage(upTo int) *gemini.UsageMetadata {
	cand := 0
	if r.call != nil {
		cand = 5
	} else {
		cand = tokens(strings.Join(r.words[:upTo], ""))
	}
	thoughts := tokens(r.thought)
	u := &gemini.UsageMetadata{PromptTokenCount: r.prompt, CandidatesTokenCount: cand * r.candidates, ThoughtsTokenCount: thoughts * r.candidates,
		PromptTokensDetails: []gemini.ModalityTokenCount{{Modality: "TEXT", TokenCount: r.prompt}}}
	u.TotalTokenCount = u.PromptTokenCount + u.CandidatesTokenCount + u.ThoughtsTokenCount
	return u
}

func (r *reply) unary() *gemini.Response {
	out := &gemini.Response{ModelVersion: r.model, ResponseID: "emulator", UsageMetadata: r.usage(len(r.words))}
	for i := range r.candidates {
		th, parts := r.parts()
		if th != nil {
			parts = append([]gemini.Part{*th}, parts...)
		}
		out.Candidates = append(out.Candidates, gemini.Candidate{Index: i, FinishReason: r.finish,
			Content: &gemini.Content{Role: "model", Parts: parts}})
	}
	return out
}

// events splits the answer the way the Developer API streams: thoughts first, then the text in
// a few pieces, running usage totals on every event, the finish reason on the last.
func (r *reply) events() []*gemini.Response {
	var out []*gemini.Response
	add := func(upTo int, finish string, parts ...gemini.Part) {
		ev := &gemini.Response{ModelVersion: r.model, ResponseID: "emulator", UsageMetadata: r.usage(upTo)}
		for i := range r.candidates {
			ev.Candidates = append(ev.Candidates, gemini.Candidate{Index: i, FinishReason: finish,
				Content: &gemini.Content{Role: "model", Parts: parts}})
		}
		out = append(out, ev)
	}
	th, content := r.parts()
	if th != nil {
		add(0, "", *th)
	}
	if r.call != nil {
		add(0, r.finish, content...)
		return out
	}
	const pieces = 3
	step := (len(r.words) + pieces - 1) / pieces
	if step == 0 {
		add(0, r.finish, gemini.Part{Text: ""})
		return out
	}
	for i := 0; i < len(r.words); i += step {
		end := min(i+step, len(r.words))
		finish := ""
		if end == len(r.words) {
			finish = r.finish
		}
		add(end, finish, gemini.Part{Text: strings.Join(r.words[i:end], "")})
	}
	return out
}
