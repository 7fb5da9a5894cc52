package gemini

import (
	"bytes"
	"errors"

	"github.com/geminigateway/gateway/shared/jsonscan"
)

// fastResponse decodes a generateContent response or a stream event into a new Response,
// exactly as json.Unmarshal does, or declines (ok false) and the caller runs json.Unmarshal. The
// common shapes (text, thought and function-call parts, finish reasons, usage) take this
// hand-written path, which walks each object in a loop of its own (open, key, next) on the shared
// scanner's pieces (jsonscan's SkipSpace, SkipString, SkipValue, Unquote): no closure per
// object, and a key is compared as written, not first checked for escapes. A response with one
// candidate of one part costs two allocations (its block, and the text) where encoding/json's
// reflection makes about fifteen. Anything else — a field it does not decode, a null, a repeated or case-folded key, a
// number that is not a plain integer, text that is not JSON — is declined, so the result and the
// error are always encoding/json's (FuzzFastResponse holds the two paths to the same result).
// A modelVersion equal to model (the model called) is that string rather than a copy.
//
// A stream's events are decoded with an "error" member beside the Response's (an error written
// into the stream): the fast path declines that key.
func fastResponse(b []byte, model string) (*Response, bool) {
	d := decoder{b: b, model: model, blk: new(block)}
	r := &d.blk.resp
	end, err := d.response(jsonscan.SkipSpace(b, 0), r)
	if err != nil || jsonscan.SkipSpace(b, end) != len(b) {
		return nil, false
	}
	return r, true
}

// errDecline stops the fast path: encoding/json decodes the text instead.
var errDecline = errors.New("gemini: not a shape the fast decoder takes")

// block is the storage of the common answer, allocated at once: the response, one candidate, its
// content with one part, and the usage. A second candidate, content or part has an allocation
// of its own; parts of the block nothing uses are left zero.
type block struct {
	resp    Response
	cand    [1]Candidate
	content Content
	part    [1]Part
	usage   UsageMetadata
}

// decoder is one run of the fast path over b. Each decode method takes the index where its value
// starts (white space skipped) and returns the index just past it; any error declines.
type decoder struct {
	b     []byte
	model string
	blk   *block
	used  int // the parts of blk handed out: usedCand, usedContent…
}

const (
	usedCand = 1 << iota
	usedContent
	usedPart
	usedUsage
)

// take reports whether the block's part bit is still free, and marks it used.
func (d *decoder) take(bit int) bool {
	free := d.used&bit == 0
	d.used |= bit
	return free
}

// open checks that the object or array at b[i] opens with c and returns the index of its first
// member, with more false (and the index just past it) when it is empty, closing with end.
func (d *decoder) open(i int, c, end byte) (int, bool, error) {
	b := d.b
	if i >= len(b) || b[i] != c {
		return i, false, errDecline
	}
	i = jsonscan.SkipSpace(b, i+1)
	if i < len(b) && b[i] == end {
		return i + 1, false, nil
	}
	return i, true, nil
}

// next moves past the member or element that ends at b[i]: to the start of the next one (more
// true), or just past the closing end. An error from the member's decoding (err) ends the walk.
func (d *decoder) next(i int, end byte, err error) (int, bool, error) {
	if err != nil {
		return i, false, err
	}
	b := d.b
	i = jsonscan.SkipSpace(b, i)
	if i < len(b) {
		switch b[i] {
		case ',':
			return jsonscan.SkipSpace(b, i+1), true, nil
		case end:
			return i + 1, false, nil
		}
	}
	return i, false, errDecline
}

// key reads the member key at b[i] and returns it as written, quotes included (a subslice of b),
// with the start of its value. A key is compared as written with the names the fast path
// decodes: those hold no escape, so a key equal to one is that name; any other key goes to
// skipUnknown, which resolves its escapes before comparing it case-insensitively.
func (d *decoder) key(i int) (raw []byte, value int, err error) {
	b := d.b
	if i >= len(b) || b[i] != '"' {
		return nil, i, errDecline
	}
	n := bytes.IndexByte(b[i+1:], '"')
	if n < 0 {
		return nil, i, errDecline
	}
	end := i + n + 2
	if b[end-2] == '\\' { // the quote may be escaped
		if end, err = jsonscan.SkipString(b, i); err != nil {
			return nil, i, errDecline
		}
	}
	raw = b[i:end]
	i = jsonscan.SkipSpace(b, end)
	if i >= len(b) || b[i] != ':' {
		return nil, i, errDecline
	}
	if i = jsonscan.SkipSpace(b, i+1); i >= len(b) {
		return nil, i, errDecline
	}
	return raw, i, nil
}

// name returns a key as written less its quotes, for the switch on the names decoded.
func name(raw []byte) []byte { return raw[1 : len(raw)-1] }

func (d *decoder) response(i int, r *Response) (int, error) {
	i, more, err := d.open(i, '{', '}')
	seen := 0
	for ; more; i, more, err = d.next(i, '}', err) {
		var raw []byte
		if raw, i, err = d.key(i); err != nil {
			break
		}
		switch string(name(raw)) {
		case "candidates":
			if once(&seen, 1) {
				return i, errDecline
			}
			var first []Candidate
			if d.take(usedCand) {
				first = d.blk.cand[:0:1]
			}
			i, err = d.candidates(i, &r.Candidates, first)
		case "usageMetadata":
			if once(&seen, 2) {
				return i, errDecline
			}
			r.UsageMetadata = &d.blk.usage
			if !d.take(usedUsage) {
				r.UsageMetadata = new(UsageMetadata)
			}
			i, err = d.usage(i, r.UsageMetadata)
		case "modelVersion":
			if once(&seen, 4) {
				return i, errDecline
			}
			i, err = d.str(i, &r.ModelVersion, d.model)
		case "responseId":
			if once(&seen, 8) {
				return i, errDecline
			}
			i, err = d.str(i, &r.ResponseID, "")
		default:
			i, err = d.skipUnknown(raw, i, "candidates", "usageMetadata", "modelVersion", "responseId", "promptFeedback", "error")
		}
	}
	return i, err
}

func (d *decoder) candidate(i int, c *Candidate) (int, error) {
	i, more, err := d.open(i, '{', '}')
	seen := 0
	for ; more; i, more, err = d.next(i, '}', err) {
		var raw []byte
		if raw, i, err = d.key(i); err != nil {
			break
		}
		switch string(name(raw)) {
		case "content":
			if once(&seen, 1) {
				return i, errDecline
			}
			c.Content = &d.blk.content
			if !d.take(usedContent) {
				c.Content = new(Content)
			}
			i, err = d.content(i, c.Content)
		case "finishReason":
			if once(&seen, 2) {
				return i, errDecline
			}
			i, err = d.str(i, &c.FinishReason, "")
		case "finishMessage":
			if once(&seen, 4) {
				return i, errDecline
			}
			i, err = d.str(i, &c.FinishMessage, "")
		case "index":
			if once(&seen, 8) {
				return i, errDecline
			}
			i, err = decodeInt(d.b, i, &c.Index)
		default:
			i, err = d.skipUnknown(raw, i, "content", "finishReason", "finishMessage", "index", "logprobsResult", "groundingMetadata")
		}
	}
	return i, err
}

func (d *decoder) content(i int, c *Content) (int, error) {
	i, more, err := d.open(i, '{', '}')
	seen := 0
	for ; more; i, more, err = d.next(i, '}', err) {
		var raw []byte
		if raw, i, err = d.key(i); err != nil {
			break
		}
		switch string(name(raw)) {
		case "role":
			if once(&seen, 1) {
				return i, errDecline
			}
			i, err = d.str(i, &c.Role, "")
		case "parts":
			if once(&seen, 2) {
				return i, errDecline
			}
			var first []Part
			if d.take(usedPart) {
				first = d.blk.part[:0:1]
			}
			i, err = d.parts(i, &c.Parts, first)
		default:
			i, err = d.skipUnknown(raw, i, "role", "parts")
		}
	}
	return i, err
}

func (d *decoder) part(i int, p *Part) (int, error) {
	i, more, err := d.open(i, '{', '}')
	seen := 0
	for ; more; i, more, err = d.next(i, '}', err) {
		var raw []byte
		if raw, i, err = d.key(i); err != nil {
			break
		}
		switch string(name(raw)) {
		case "text":
			if once(&seen, 1) {
				return i, errDecline
			}
			i, err = d.str(i, &p.Text, "")
		case "thought":
			if once(&seen, 2) {
				return i, errDecline
			}
			i, err = decodeBool(d.b, i, &p.Thought)
		case "thoughtSignature":
			if once(&seen, 4) {
				return i, errDecline
			}
			i, err = d.str(i, &p.ThoughtSignature, "")
		case "functionCall":
			if once(&seen, 8) {
				return i, errDecline
			}
			p.FunctionCall = new(FunctionCall)
			i, err = d.functionCall(i, p.FunctionCall)
		default:
			i, err = d.skipUnknown(raw, i, "text", "thought", "thoughtSignature", "inlineData", "fileData", "functionCall",
				"functionResponse", "mediaResolution", "executableCode", "codeExecutionResult")
		}
	}
	return i, err
}

func (d *decoder) functionCall(i int, f *FunctionCall) (int, error) {
	i, more, err := d.open(i, '{', '}')
	seen := 0
	for ; more; i, more, err = d.next(i, '}', err) {
		var raw []byte
		if raw, i, err = d.key(i); err != nil {
			break
		}
		switch string(name(raw)) {
		case "id":
			if once(&seen, 1) {
				return i, errDecline
			}
			i, err = d.str(i, &f.ID, "")
		case "name":
			if once(&seen, 2) {
				return i, errDecline
			}
			i, err = d.str(i, &f.Name, "")
		case "args":
			if once(&seen, 4) {
				return i, errDecline
			}
			// json.RawMessage keeps a copy of the value as written; null is left to json.
			end, err := skipValid(d.b, i)
			if err != nil || jsonscan.IsNull(d.b[i:end]) {
				return end, errDecline
			}
			f.Args = bytes.Clone(d.b[i:end])
			i = end
		case "willContinue":
			if once(&seen, 8) {
				return i, errDecline
			}
			i, err = decodeBool(d.b, i, &f.WillContinue)
		default:
			i, err = d.skipUnknown(raw, i, "id", "name", "args", "partialArgs", "willContinue")
		}
	}
	return i, err
}

func (d *decoder) usage(i int, u *UsageMetadata) (int, error) {
	i, more, err := d.open(i, '{', '}')
	seen := 0
	for ; more; i, more, err = d.next(i, '}', err) {
		var raw []byte
		if raw, i, err = d.key(i); err != nil {
			break
		}
		var n *int
		var bit int
		switch string(name(raw)) {
		case "promptTokenCount":
			n, bit = &u.PromptTokenCount, 1
		case "candidatesTokenCount":
			n, bit = &u.CandidatesTokenCount, 2
		case "totalTokenCount":
			n, bit = &u.TotalTokenCount, 4
		case "cachedContentTokenCount":
			n, bit = &u.CachedContentTokenCount, 8
		case "toolUsePromptTokenCount":
			n, bit = &u.ToolUsePromptTokenCount, 16
		case "thoughtsTokenCount":
			n, bit = &u.ThoughtsTokenCount, 32
		case "promptTokensDetails":
			if once(&seen, 64) {
				return i, errDecline
			}
			i, err = d.modalityCounts(i, &u.PromptTokensDetails)
			continue
		case "candidatesTokensDetails":
			if once(&seen, 128) {
				return i, errDecline
			}
			i, err = d.modalityCounts(i, &u.CandidatesTokensDetails)
			continue
		case "trafficType":
			if once(&seen, 256) {
				return i, errDecline
			}
			i, err = d.str(i, &u.TrafficType, "")
			continue
		default:
			i, err = d.skipUnknown(raw, i, "promptTokenCount", "candidatesTokenCount", "totalTokenCount", "cachedContentTokenCount",
				"toolUsePromptTokenCount", "thoughtsTokenCount", "promptTokensDetails", "candidatesTokensDetails", "trafficType")
			continue
		}
		if once(&seen, bit) {
			return i, errDecline
		}
		i, err = decodeInt(d.b, i, n)
	}
	return i, err
}

func (d *decoder) modalityCount(i int, m *ModalityTokenCount) (int, error) {
	i, more, err := d.open(i, '{', '}')
	seen := 0
	for ; more; i, more, err = d.next(i, '}', err) {
		var raw []byte
		if raw, i, err = d.key(i); err != nil {
			break
		}
		switch string(name(raw)) {
		case "modality":
			if once(&seen, 1) {
				return i, errDecline
			}
			i, err = d.str(i, &m.Modality, "")
		case "tokenCount":
			if once(&seen, 2) {
				return i, errDecline
			}
			i, err = decodeInt(d.b, i, &m.TokenCount)
		default:
			i, err = d.skipUnknown(raw, i, "modality", "tokenCount")
		}
	}
	return i, err
}

// once marks bit in seen and reports whether it was already set: a key that comes twice is left
// to encoding/json, whose rules for repeats (the last wins, objects merge) the fast path does
// not copy.
func once(seen *int, bit int) bool {
	dup := *seen&bit != 0
	*seen |= bit
	return dup
}

// The arrays: each decodes the array at b[i] into a new slice, each element as its decoder
// does. A slice starts as first when that has room (the block's element) and else with room for
// one. An empty array is an empty slice, not nil, as encoding/json makes it. (The element
// decoder is called directly, not passed as a function value: that would move d to the heap.)

func (d *decoder) candidates(i int, s *[]Candidate, first []Candidate) (int, error) {
	i, more, err := d.open(i, '[', ']')
	out := first
	if out == nil {
		out = make([]Candidate, 0, 1)
	}
	for ; more; i, more, err = d.next(i, ']', err) {
		out = append(out, Candidate{})
		i, err = d.candidate(i, &out[len(out)-1])
	}
	*s = out
	return i, err
}

func (d *decoder) parts(i int, s *[]Part, first []Part) (int, error) {
	i, more, err := d.open(i, '[', ']')
	out := first
	if out == nil {
		out = make([]Part, 0, 1)
	}
	for ; more; i, more, err = d.next(i, ']', err) {
		out = append(out, Part{})
		i, err = d.part(i, &out[len(out)-1])
	}
	*s = out
	return i, err
}

func (d *decoder) modalityCounts(i int, s *[]ModalityTokenCount) (int, error) {
	i, more, err := d.open(i, '[', ']')
	out := make([]ModalityTokenCount, 0, 1)
	for ; more; i, more, err = d.next(i, ']', err) {
		out = append(out, ModalityTokenCount{})
		i, err = d.modalityCount(i, &out[len(out)-1])
	}
	*s = out
	return i, err
}

// str decodes the string at b[i]; any other value is declined. A common value (common) is a
// constant and a literal equal to same is same, so neither costs an allocation.
func (d *decoder) str(i int, s *string, same string) (int, error) {
	b := d.b
	if i >= len(b) || b[i] != '"' {
		return i, errDecline
	}
	end, err := jsonscan.SkipString(b, i)
	if err != nil {
		return end, errDecline
	}
	raw := b[i+1 : end-1]
	if v, ok := common(raw); ok {
		*s = v
		return end, nil
	}
	if literal(raw) {
		if string(raw) == same {
			*s = same
		} else {
			*s = string(raw)
		}
		return end, nil
	}
	v, err := jsonscan.Unquote(b[i:end])
	if err != nil {
		return end, errDecline
	}
	*s = v
	return end, nil
}

// literal reports whether the body of a string literal stands for itself: ASCII with no
// backslash and no control byte (a quote cannot be there unescaped). Any other string is left to
// jsonscan.Unquote, which resolves escapes and checks UTF-8.
func literal(raw []byte) bool {
	for _, c := range raw {
		if c < 0x20 || c == '\\' || c >= 0x80 {
			return false
		}
	}
	return true
}

// common returns the string constant for the values every event repeats (roles, finish reasons,
// modalities), so they cost no allocation.
func common(raw []byte) (string, bool) {
	switch string(raw) {
	case "model":
		return "model", true
	case "STOP":
		return "STOP", true
	case "MAX_TOKENS":
		return "MAX_TOKENS", true
	case "TEXT":
		return "TEXT", true
	case "ON_DEMAND":
		return "ON_DEMAND", true
	}
	return "", false
}

// decodeInt decodes a plain integer literal of at most 18 digits at b[i] (no fraction, no
// exponent: encoding/json refuses those for an int); anything else is declined.
func decodeInt(b []byte, i int, n *int) (int, error) {
	j := i
	neg := j < len(b) && b[j] == '-'
	if neg {
		j++
	}
	start := j
	v := 0
	for j < len(b) && b[j] >= '0' && b[j] <= '9' {
		v = v*10 + int(b[j]-'0')
		j++
	}
	if d := j - start; d == 0 || d > 18 || d > 1 && b[start] == '0' || !delimiter(b, j) {
		return j, errDecline
	}
	if neg {
		v = -v
	}
	*n = v
	return j, nil
}

// decodeBool decodes true or false at b[i]; anything else is declined.
func decodeBool(b []byte, i int, v *bool) (int, error) {
	switch {
	case bytes.HasPrefix(b[i:], []byte("true")) && delimiter(b, i+4):
		*v = true
		return i + 4, nil
	case bytes.HasPrefix(b[i:], []byte("false")) && delimiter(b, i+5):
		*v = false
		return i + 5, nil
	}
	return i, errDecline
}

// delimiter reports whether a literal that ends before b[j] ends there in JSON's grammar.
func delimiter(b []byte, j int) bool {
	if j >= len(b) {
		return true
	}
	switch b[j] {
	case ',', '}', ']', ' ', '\t', '\n', '\r':
		return true
	}
	return false
}

// skipUnknown skips the value at b[i] of a key (raw, as written) the fast path does not decode,
// after checking that it is valid JSON. A key that is one of fields, or equal to one but for case
// (encoding/json matches keys case-insensitively), is declined: encoding/json decodes it. A key
// with an escape is compared unescaped; one with a control byte is not JSON.
func (d *decoder) skipUnknown(raw []byte, i int, fields ...string) (int, error) {
	key := name(raw)
	for _, c := range key {
		if c < 0x20 || c == '\\' {
			s, err := jsonscan.Unquote(raw)
			if err != nil {
				return i, errDecline
			}
			key = []byte(s)
			break
		}
	}
	for _, f := range fields {
		if bytes.EqualFold(key, []byte(f)) {
			return i, errDecline
		}
	}
	return skipValid(d.b, i)
}

// skipValid returns the end of the value at b[i], declining one that is not valid JSON.
func skipValid(b []byte, i int) (int, error) {
	end, err := jsonscan.SkipValue(b, i)
	if err != nil || !jsonscan.Valid(b[i:end]) {
		return end, errDecline
	}
	return end, nil
}
