package translate

import (
	"encoding/json"
	"strings"

	"github.com/geminigateway/gateway/shared/gemini"
	"github.com/geminigateway/gateway/shared/openai"
)

// ResponsesMeta is what a Responses output translation needs besides Gemini's body.
type ResponsesMeta struct {
	// Meta is chat's: Created, Model, NewCallID, MaxToolCalls, ThoughtTagMarker are used.
	Meta
	ResponseID string
	// NewItemID returns a unique item id with the given prefix (msg_, rs_, fc_, ws_).
	NewItemID func(prefix string) string
	// Encrypted says reasoning items carry encrypted_content (include asked, or store false).
	Encrypted bool
	// KeepSealed says encrypted_content is made even when the client does not get it: the full
	// items (with it) are what a stored response continues from.
	KeepSealed bool
	// Sources says web_search_call items list their sources.
	Sources bool
	SealKey []byte
	// Request is echoed into the response object.
	Request *openai.ResponsesRequest
}

func (m *ResponsesMeta) key() []byte {
	if len(m.SealKey) == 0 {
		return DefaultSealKey
	}
	return m.SealKey
}

// Skeleton is the response object before any output: the request's settings echoed back, as
// response.created carries it.
func (m *ResponsesMeta) Skeleton(status string) *openai.ResponseObject {
	r := m.Request
	o := &openai.ResponseObject{ID: m.ResponseID, Object: "response", CreatedAt: m.Created, Status: status,
		Model: r.Model, Output: []openai.Item{}, ParallelToolCalls: r.ParallelToolCalls == nil || *r.ParallelToolCalls,
		MaxOutputTokens: r.MaxOutputTokens, MaxToolCalls: r.MaxToolCalls, Temperature: r.Temperature, TopP: r.TopP,
		Store: r.Store == nil || *r.Store, Truncation: "disabled", Tools: r.Tools, Metadata: r.Metadata,
		Text: openai.TextConfig{Format: &openai.TextFormat{Type: "text"}}, ToolChoice: json.RawMessage(`"auto"`)}
	if o.Tools == nil {
		o.Tools = []openai.ResponsesTool{}
	}
	if o.Metadata == nil {
		o.Metadata = map[string]string{}
	}
	if r.Instructions != "" {
		o.Instructions = &r.Instructions
	}
	if r.PreviousResponseID != "" {
		o.PreviousResponseID = &r.PreviousResponseID
	}
	if r.User != "" {
		o.User = &r.User
	}
	if r.Reasoning != nil {
		o.Reasoning = *r.Reasoning
	}
	if r.Text != nil && r.Text.Format != nil {
		o.Text.Format = r.Text.Format
	}
	if r.ToolChoice != nil {
		o.ToolChoice, _ = json.Marshal(r.ToolChoice)
	}
	return o
}

// ResponsesFromGemini translates a generateContent response into a response object. It runs
// chat's translation, then the same output builder the stream uses over the whole message at
// once, so unary and streamed responses have the same items. full is the output with
// encrypted_content kept (see KeepSealed).
func ResponsesFromGemini(r *gemini.Response, m ResponsesMeta) (obj *openai.ResponseObject, full []openai.Item, err error) {
	cr, err := ResponseFromGemini(r, m.Meta)
	if err != nil {
		return nil, nil, err
	}
	b := newOutputBuilder(&m, false)
	if len(cr.Choices) > 0 {
		ch := &cr.Choices[0]
		msg := &ch.Message
		d := openai.Delta{Content: msg.Content, ReasoningContent: msg.ReasoningContent, ToolCalls: msg.ToolCalls,
			Images: msg.Images, Annotations: msg.Annotations, ExtraContent: msg.ExtraContent}
		b.delta(&d, ch.Logprobs)
		if ch.FinishReason != nil {
			b.finish = *ch.FinishReason
		}
		if len(r.Candidates) > 0 {
			b.grounding(r.Candidates[0].GroundingMetadata)
		}
	}
	obj = b.end(usageFromGemini(r.UsageMetadata))
	return obj, b.items, nil
}

// outputBuilder turns chat deltas into output items and, when events is set, the stream events
// that build them. Items never interleave: a new kind of content closes the open item.
type outputBuilder struct {
	m      *ResponsesMeta
	events bool
	seq    int
	out    []openai.ResponseEvent
	items  []openai.Item

	cur    string // the open item's type, "" when none
	curID  string
	text   strings.Builder // the open item's summary text, message text or arguments
	call   openai.Item     // the open function call
	annots []openai.ResponseAnnotation
	logp   []openai.ResponseLogprob
	sig    sealed // signatures for the open (or next) reasoning item

	finish  string
	queries []string
	sources []openai.WebSearchSource
}

func newOutputBuilder(m *ResponsesMeta, events bool) *outputBuilder {
	return &outputBuilder{m: m, events: events}
}

func intp(i int) *int {
	if i >= 0 && i < len(smallInts) {
		return &smallInts[i] // shared and never written: events only read their indexes
	}
	v := i // a copy, so that only this branch allocates (&i would move i to the heap on every call)
	return &v
}

// smallInts backs intp's pointers to small indexes, so an event's indexes cost no allocation.
var smallInts = func() (a [64]int) {
	for i := range a {
		a[i] = i
	}
	return a
}()

// noLogprobs is the empty logprobs array of text events without logprobs; shared, never written.
var noLogprobs = &[]openai.ResponseLogprob{}

func strp(s string) *string { return &s }

func (b *outputBuilder) emit(e openai.ResponseEvent) {
	if !b.events {
		return
	}
	e.SequenceNumber = b.seq
	b.seq++
	b.out = append(b.out, e)
}

func (b *outputBuilder) index() *int { return intp(len(b.items)) }

// signatures collects the thought signatures a delta carries: the message's (its text's), each
// tool call's and each image's.
func signatures(d *openai.Delta) sealed {
	var s sealed
	s.Text = googleSignature(d.ExtraContent)
	for i := range d.ToolCalls {
		tc := &d.ToolCalls[i]
		if tc.ID != "" {
			s.Calls = append(s.Calls, sealedCall{ID: tc.ID, Sig: googleSignature(tc.ExtraContent)})
		}
	}
	for i := range d.Images {
		s.Images = append(s.Images, googleSignature(d.Images[i].ExtraContent))
	}
	if len(s.Images) > 0 && s.Text == s.Images[0] {
		s.Text = "" // chat repeats a lone image's signature at message level
	}
	return s
}

func (s *sealed) merge(o sealed) {
	if o.Text != "" {
		s.Text = o.Text
	}
	s.Calls = append(s.Calls, o.Calls...)
	s.Images = append(s.Images, o.Images...)
}

// delta adds one chat delta: thoughts, then text, then tool calls, in Gemini's part order.
func (b *outputBuilder) delta(d *openai.Delta, lp *openai.Logprobs) {
	sigs := signatures(d)
	if d.ReasoningContent != nil && *d.ReasoningContent != "" {
		if b.cur != openai.ItemReasoning {
			b.close()
			b.openReasoning()
		}
		if b.text.Len() == 0 {
			b.emit(openai.ResponseEvent{Type: openai.EventSummaryPartAdded, ItemID: b.curID, OutputIndex: b.index(),
				SummaryIndex: intp(0), Part: &openai.SummaryPart{Type: "summary_text"}})
		}
		b.text.WriteString(*d.ReasoningContent)
		b.emit(openai.ResponseEvent{Type: openai.EventSummaryTextDelta, ItemID: b.curID, OutputIndex: b.index(),
			SummaryIndex: intp(0), Delta: d.ReasoningContent})
	}
	hasText := d.Content != nil && *d.Content != ""
	more := hasText || len(d.ToolCalls) > 0
	switch {
	case b.cur == openai.ItemReasoning:
		b.sig.merge(sigs)
	case !sigs.empty() && b.cur == "" && len(b.items) == 0 && b.m.Encrypted:
		// No thoughts came back, but the turn is signed: a reasoning item with an empty summary
		// carries the signatures, as OpenAI's reasoning models return one before their output.
		b.sig = sigs
		b.openReasoning()
	}
	if more && b.cur == openai.ItemReasoning {
		b.close()
	}
	if hasText {
		if b.cur != openai.ItemMessage {
			b.close()
			b.openMessage()
		}
		b.text.WriteString(*d.Content)
		ev := openai.ResponseEvent{Type: openai.EventTextDelta, ItemID: b.curID, OutputIndex: b.index(),
			ContentIndex: intp(0), Delta: d.Content, Logprobs: noLogprobs}
		if lp != nil {
			l := logprobsToResponses(lp)
			b.logp = append(b.logp, l...)
			ev.Logprobs = &l
		}
		b.emit(ev)
	}
	for _, a := range d.Annotations {
		ra := openai.ResponseAnnotation{Type: "url_citation", URL: a.URLCitation.URL, Title: a.URLCitation.Title,
			StartIndex: a.URLCitation.StartIndex, EndIndex: a.URLCitation.EndIndex}
		if b.cur == openai.ItemMessage {
			b.emit(openai.ResponseEvent{Type: openai.EventAnnotationAdded, ItemID: b.curID, OutputIndex: b.index(),
				ContentIndex: intp(0), AnnotationIndex: intp(len(b.annots)), Annotation: &ra})
			b.annots = append(b.annots, ra)
		} else if m := b.lastMessage(); m != nil {
			p := &m.Content.Parts[0]
			*p.Annotations = append(*p.Annotations, ra)
		}
	}
	for i := range d.Images {
		// Generated images are image_generation_call items, as OpenAI returns its own; each
		// image's signature rides in the reasoning item's encrypted_content, by position.
		b.close()
		b.image(&d.Images[i].ImageURL)
	}
	for i := range d.ToolCalls {
		tc := &d.ToolCalls[i]
		if tc.ID != "" {
			b.close()
			b.openCall(tc)
		}
		if b.cur == openai.ItemFunctionCall && tc.Function.Arguments != "" {
			b.text.WriteString(tc.Function.Arguments)
			b.emit(openai.ResponseEvent{Type: openai.EventArgumentsDelta, ItemID: b.curID, OutputIndex: b.index(),
				Delta: strp(tc.Function.Arguments)})
		}
	}
}

func (b *outputBuilder) lastMessage() *openai.Item {
	for i := len(b.items) - 1; i >= 0; i-- {
		if b.items[i].Type == openai.ItemMessage {
			return &b.items[i]
		}
	}
	return nil
}

// image adds a generated image (a data: URI) as a finished image_generation_call item.
func (b *outputBuilder) image(u *openai.ImageURL) {
	mime, data, _ := strings.Cut(strings.TrimPrefix(u.URL, "data:"), ";base64,")
	it := openai.Item{Type: openai.ItemImageGeneration, ID: b.m.NewItemID("ig_"), Status: openai.StatusCompleted,
		Result: &data, OutputFormat: strings.TrimPrefix(mime, "image/")}
	added := it
	added.Status, added.Result = openai.StatusInProgress, nil
	b.emit(openai.ResponseEvent{Type: openai.EventItemAdded, OutputIndex: b.index(), Item: &added})
	b.done(it)
}

func (b *outputBuilder) openReasoning() {
	b.cur, b.curID = openai.ItemReasoning, b.m.NewItemID("rs_")
	b.text.Reset()
	b.emit(openai.ResponseEvent{Type: openai.EventItemAdded, OutputIndex: b.index(),
		Item: &openai.Item{Type: openai.ItemReasoning, ID: b.curID, Summary: &[]openai.SummaryPart{}}})
}

func (b *outputBuilder) openMessage() {
	b.cur, b.curID = openai.ItemMessage, b.m.NewItemID("msg_")
	b.text.Reset()
	b.annots, b.logp = nil, nil
	b.emit(openai.ResponseEvent{Type: openai.EventItemAdded, OutputIndex: b.index(), Item: &openai.Item{
		Type: openai.ItemMessage, ID: b.curID, Status: openai.StatusInProgress, Role: "assistant",
		Content: &openai.ItemContent{IsParts: true, Parts: []openai.ItemPart{}}}})
	b.emit(openai.ResponseEvent{Type: openai.EventPartAdded, ItemID: b.curID, OutputIndex: b.index(), ContentIndex: intp(0),
		Part: &openai.ItemPart{Type: "output_text", Annotations: &[]openai.ResponseAnnotation{}}})
}

func (b *outputBuilder) openCall(tc *openai.ToolCall) {
	b.cur, b.curID = openai.ItemFunctionCall, b.m.NewItemID("fc_")
	b.text.Reset()
	b.call = openai.Item{Type: openai.ItemFunctionCall, ID: b.curID, CallID: tc.ID, Name: tc.Function.Name, Status: openai.StatusInProgress}
	added := b.call
	added.Arguments = strp("")
	b.emit(openai.ResponseEvent{Type: openai.EventItemAdded, OutputIndex: b.index(), Item: &added})
}

// close finishes the open item: its done events, then the item joins the output.
func (b *outputBuilder) close() {
	idx := b.index()
	switch b.cur {
	case "":
		return
	case openai.ItemReasoning:
		it := openai.Item{Type: openai.ItemReasoning, ID: b.curID, Summary: &[]openai.SummaryPart{}}
		if b.text.Len() > 0 {
			text := b.text.String()
			part := openai.SummaryPart{Type: "summary_text", Text: text}
			*it.Summary = append(*it.Summary, part)
			b.emit(openai.ResponseEvent{Type: openai.EventSummaryTextDone, ItemID: b.curID, OutputIndex: idx, SummaryIndex: intp(0), Text: &text})
			b.emit(openai.ResponseEvent{Type: openai.EventSummaryPartDone, ItemID: b.curID, OutputIndex: idx, SummaryIndex: intp(0), Part: &part})
		}
		if (b.m.Encrypted || b.m.KeepSealed) && !b.sig.empty() {
			it.EncryptedContent = strp(seal(b.m.key(), &b.sig))
		}
		b.sig = sealed{}
		b.done(it)
	case openai.ItemMessage:
		text := b.text.String()
		annots := b.annots
		if annots == nil {
			annots = []openai.ResponseAnnotation{}
		}
		part := openai.ItemPart{Type: "output_text", Text: text, Annotations: &annots, Logprobs: b.logp}
		lp := b.logp
		if lp == nil {
			lp = []openai.ResponseLogprob{}
		}
		b.emit(openai.ResponseEvent{Type: openai.EventTextDone, ItemID: b.curID, OutputIndex: idx, ContentIndex: intp(0), Text: &text, Logprobs: &lp})
		b.emit(openai.ResponseEvent{Type: openai.EventPartDone, ItemID: b.curID, OutputIndex: idx, ContentIndex: intp(0), Part: &part})
		b.done(openai.Item{Type: openai.ItemMessage, ID: b.curID, Status: b.itemStatus(), Role: "assistant",
			Content: &openai.ItemContent{IsParts: true, Parts: []openai.ItemPart{part}}})
	case openai.ItemFunctionCall:
		it := b.call
		args := b.text.String()
		if args == "" {
			args = "{}"
		}
		it.Arguments, it.Status = &args, openai.StatusCompleted
		b.emit(openai.ResponseEvent{Type: openai.EventArgumentsDone, ItemID: b.curID, OutputIndex: idx, Arguments: &args})
		b.done(it)
	}
	b.cur, b.curID = "", ""
	b.text.Reset()
}

func (b *outputBuilder) done(it openai.Item) {
	b.items = append(b.items, it)
	if !b.m.Encrypted {
		it.EncryptedContent = nil
	}
	b.emit(openai.ResponseEvent{Type: openai.EventItemDone, OutputIndex: intp(len(b.items) - 1), Item: &it})
}

// itemStatus is a message's status: incomplete when the response was cut short.
func (b *outputBuilder) itemStatus() string {
	if b.finish == "length" || b.finish == "content_filter" {
		return openai.StatusIncomplete
	}
	return openai.StatusCompleted
}

// grounding records Google Search grounding: the queries and sources of a web_search_call item.
func (b *outputBuilder) grounding(g *gemini.GroundingMetadata) {
	if g == nil {
		return
	}
	b.queries = append(b.queries, g.WebSearchQueries...)
	for _, c := range g.GroundingChunks {
		if c.Web != nil {
			b.sources = append(b.sources, openai.WebSearchSource{Type: "url", URL: c.Web.URI})
		}
	}
}

// end closes the output and returns the finished response object: status from the finish
// reason, usage with chat's formula. A web search that grounded the answer is a completed
// web_search_call item after it (Gemini reports the search with the answer's last event).
func (b *outputBuilder) end(u *openai.Usage) *openai.ResponseObject {
	b.close()
	if len(b.queries) > 0 || len(b.sources) > 0 {
		it := openai.Item{Type: openai.ItemWebSearchCall, ID: b.m.NewItemID("ws_"), Status: openai.StatusCompleted,
			Action: &openai.WebSearchAction{Type: "search", Query: strings.Join(b.queries, "; ")}}
		if b.m.Sources {
			it.Action.Sources = b.sources
		}
		b.emit(openai.ResponseEvent{Type: openai.EventItemAdded, OutputIndex: b.index(), Item: &it})
		b.done(it)
	}
	o := b.m.Skeleton(openai.StatusCompleted)
	o.Output = make([]openai.Item, len(b.items))
	for i, it := range b.items {
		if !b.m.Encrypted {
			it.EncryptedContent = nil
		}
		o.Output[i] = it
	}
	switch b.finish {
	case "length":
		o.Status, o.IncompleteDetails = openai.StatusIncomplete, &openai.IncompleteDetails{Reason: "max_output_tokens"}
	case "content_filter":
		o.Status, o.IncompleteDetails = openai.StatusIncomplete, &openai.IncompleteDetails{Reason: "content_filter"}
	}
	o.Usage = usageToResponses(u)
	return o
}

// usageToResponses maps chat usage (usageFromGemini's formula) to the Responses names.
func usageToResponses(u *openai.Usage) *openai.ResponseUsage {
	if u == nil {
		return &openai.ResponseUsage{}
	}
	return &openai.ResponseUsage{InputTokens: u.PromptTokens, OutputTokens: u.CompletionTokens, TotalTokens: u.TotalTokens,
		InputTokensDetails:  openai.InputTokensDetails{CachedTokens: u.PromptTokensDetails.CachedTokens},
		OutputTokensDetails: openai.OutputTokensDetails{ReasoningTokens: u.CompletionTokensDetails.ReasoningTokens}}
}

func logprobsToResponses(l *openai.Logprobs) []openai.ResponseLogprob {
	out := make([]openai.ResponseLogprob, len(l.Content))
	for i, t := range l.Content {
		r := openai.ResponseLogprob{Token: t.Token, Logprob: t.Logprob, Bytes: t.Bytes, TopLogprobs: make([]openai.ResponseTopLogprob, len(t.TopLogprobs))}
		for j, a := range t.TopLogprobs {
			r.TopLogprobs[j] = openai.ResponseTopLogprob(a)
		}
		out[i] = r
	}
	return out
}
