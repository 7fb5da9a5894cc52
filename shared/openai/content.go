package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strconv"

	"github.com/geminigateway/gateway/shared/jsonscan"
)

// decoder decodes the messages of one request into their typed unions, counting them against
// the limits and checking every key at every level: a key that is neither decoded nor in the
// README's table of fields accepted and ignored is a 400 naming its path.
type decoder struct {
	ctx    context.Context
	limits Limits
	parts  int // content parts and tool calls decoded so far, for limits.Parts
	seen   int // items decoded, for checking ctx every so often
	// fast lets tool calls and extra_content in the shapes clients send be decoded by hand
	// (setToolCall, setExtraContent) instead of by decodeStrict; FuzzDecodeTopLevel holds the
	// two to the same result.
	fast bool
	// checked has message check every value it reads as jsonscan.ValidAt does (an invalid one
	// is a jsonscan.ErrSyntax), so the walk that decodes the messages also validates them.
	checked bool
	// text is a copy of a small body that plain strings are cut from: one allocation for all
	// of them. Empty: each string is its own copy (or a constant).
	text string
}

// checkEvery is how many messages and parts are decoded between looks at the request context.
const checkEvery = 1024

func (d *decoder) tick() error {
	d.seen++
	if d.seen%checkEvery == 0 {
		return d.ctx.Err()
	}
	return nil
}

func msgPath(i int) string { return "messages[" + strconv.Itoa(i) + "]" }

func partPath(i, j int) string { return msgPath(i) + ".content[" + strconv.Itoa(j) + "]" }

// messages decodes the messages array b of n elements (-1: not counted yet).
func (d *decoder) messages(b []byte, n int) ([]Message, error) {
	if jsonscan.Kind(b) != '[' {
		return nil, InvalidParam("messages", "messages must be an array of message objects")
	}
	if n < 0 || n > d.limits.Messages {
		var err error
		if n, err = jsonscan.Len(b, d.limits.Messages); err != nil {
			return nil, InvalidParam("messages", "messages is not a valid array: %v", err)
		}
	}
	if n > d.limits.Messages {
		return nil, d.tooMany()
	}
	msgs := make([]Message, n)
	_, err := jsonscan.ArrayAt(b, 0, func(i, start int) (int, error) {
		if err := d.tick(); err != nil {
			return start, err
		}
		return d.message(&msgs[i], b, start, i)
	})
	if err != nil {
		return nil, err
	}
	return msgs, nil
}

// messagesAt decodes the messages array at b[start] in the walk that checks it is JSON (the one
// pass over it): each message is decoded as messages does, with checked set, and a message after
// the first error or past the limit is only checked (jsonscan.ValidAt). It returns the messages
// (msgs, appended to), how many there are, the index just past the array, and the error that
// messages would return for them (Decode returns it only once the whole body is known to be
// JSON, as messages runs after the body is checked); ok is false where the array is not JSON.
func (d *decoder) messagesAt(msgs []Message, b []byte, start int) (_ []Message, n, end int, msgErr error, ok bool) {
	d.checked = true
	end, err := jsonscan.ArrayAt(b, start, func(i, start int) (int, error) {
		n++
		if msgErr == nil && i < d.limits.Messages {
			if msgErr = d.tick(); msgErr == nil {
				msgs = append(msgs, Message{})
				end, err := d.message(&msgs[i], b, start, i)
				if err == nil {
					return end, nil
				}
				if errors.Is(err, jsonscan.ErrSyntax) {
					return end, err
				}
				msgErr = err
			}
		}
		if end := jsonscan.ValidAt(b, start, 2); end >= 0 {
			return end, nil
		}
		return start, jsonscan.ErrSyntax
	})
	if err != nil {
		return nil, 0, end, nil, false
	}
	if n > d.limits.Messages {
		msgErr = d.tooMany() // messages refuses too many before it decodes any
	}
	if msgs == nil {
		msgs = []Message{} // as messages makes it: empty, not nil
	}
	return msgs, n, end, msgErr, true
}

func (d *decoder) tooMany() error {
	return InvalidParam("messages", "messages has more than %d entries, the most this gateway accepts (GATEWAY_MAX_MESSAGES)", d.limits.Messages)
}

// valueAt returns the index just past the value at b[i], a member of a message (inside three
// levels: the body, messages and the message), checked as JSON where d.checked is set.
func (d *decoder) valueAt(b []byte, i int) (int, error) {
	if !d.checked {
		return jsonscan.SkipValue(b, i)
	}
	if end := jsonscan.ValidAt(b, i, 3); end >= 0 {
		return end, nil
	}
	return i, jsonscan.ErrSyntax
}

// cut returns the plain string literal b[i:end] (ValidString's plain) as the string it stands
// for: a slice of d.text, or a role or type constant, or a copy.
func (d *decoder) cut(b []byte, i, end int) string {
	if d.text != "" {
		return d.text[i+1 : end-1]
	}
	if s, ok := symbol(b[i:end]); ok {
		return s
	}
	return string(b[i+1 : end-1])
}

// message decodes messages[i], the value at b[start], and returns the index just past it.
// Fields that clients echo back from earlier responses and that Gemini has no slot for are
// accepted and ignored (README, "Accepted and ignored").
func (d *decoder) message(m *Message, b []byte, start, i int) (int, error) {
	if b[start] != '{' {
		return start, InvalidParam(msgPath(i), "%s must be an object", msgPath(i))
	}
	m.Content.IsNull = true // until a content key says otherwise
	return jsonscan.ObjectAt(b, start, func(k, _ []byte, vstart int) (int, error) {
		if d.checked && b[vstart] == '"' {
			// A string is checked and, when plain, decoded in one look for its closing quote.
			end, plain := jsonscan.ValidString(b, vstart)
			if end < 0 {
				return vstart, jsonscan.ErrSyntax
			}
			if plain {
				switch string(k) {
				case "role":
					m.Role = d.cut(b, vstart, end)
					return end, nil
				case "content":
					m.Content = Content{Text: d.cut(b, vstart, end)}
					return end, nil
				case "name":
					m.Name = d.cut(b, vstart, end)
					return end, nil
				case "tool_call_id":
					m.ToolCallID = d.cut(b, vstart, end)
					return end, nil
				}
			}
			return end, d.member(m, k, b[vstart:end], i)
		}
		end, err := d.valueAt(b, vstart)
		if err != nil {
			return end, err
		}
		return end, d.member(m, k, b[vstart:end], i)
	})
}

// member decodes the member k: v of messages[i].
func (d *decoder) member(m *Message, k, v []byte, i int) error {
	var err error
	switch string(k) {
	case "role":
		m.Role, err = str(v, func() string { return msgPath(i) + ".role" })
	case "content":
		m.Content, err = d.content(v, i)
	case "name":
		m.Name, err = str(v, func() string { return msgPath(i) + ".name" })
	case "tool_call_id":
		m.ToolCallID, err = str(v, func() string { return msgPath(i) + ".tool_call_id" })
	case "tool_calls":
		err = d.toolCalls(m, v, i)
	case "function_call":
		err = decodeStrict(v, &m.FunctionCall, msgPath(i)+".function_call")
	case "extra_content":
		if m.ExtraContent == nil && d.fast && setExtraContent(&m.ExtraContent, v) {
			return nil
		}
		err = decodeStrict(v, &m.ExtraContent, msgPath(i)+".extra_content")
	case "audio":
		// Lenient: OpenAI's audio also holds id, expires_at and transcript, which Gemini has
		// no slot for; data and extra_content are what an image edit needs back.
		if !jsonscan.IsNull(v) {
			if err = json.Unmarshal(v, &m.Audio); err != nil {
				err = fieldError(err, msgPath(i)+".audio")
			}
		}
	case "images":
		if !jsonscan.IsNull(v) {
			if err = json.Unmarshal(v, &m.Images); err != nil {
				err = fieldError(err, msgPath(i)+".images")
			}
		}
	case "refusal", "annotations", "reasoning_content":
		// accepted and ignored
	default:
		err = unknownField(msgPath(i) + "." + string(k))
	}
	return err
}

func (d *decoder) toolCalls(m *Message, b []byte, i int) error {
	if jsonscan.IsNull(b) {
		return nil
	}
	if jsonscan.Kind(b) != '[' {
		return InvalidParam(msgPath(i)+".tool_calls", "%s.tool_calls must be an array", msgPath(i))
	}
	n, err := jsonscan.Len(b, d.limits.Parts-d.parts)
	if err != nil {
		return InvalidParam(msgPath(i)+".tool_calls", "%s.tool_calls is not a valid array: %v", msgPath(i), err)
	}
	if err := d.count(n, i, "tool_calls"); err != nil {
		return err
	}
	m.ToolCalls = make([]ToolCall, n)
	_, err = jsonscan.ArrayAt(b, 0, func(k, start int) (int, error) {
		if err := d.tick(); err != nil {
			return start, err
		}
		if d.fast {
			if end := setToolCallAt(&m.ToolCalls[k], b, start); end >= 0 {
				return end, nil
			}
			m.ToolCalls[k] = ToolCall{}
		}
		end, err := jsonscan.SkipValue(b, start)
		if err != nil {
			return end, err
		}
		return end, decodeStrict(b[start:end], &m.ToolCalls[k], msgPath(i)+".tool_calls["+strconv.Itoa(k)+"]")
	})
	return err
}

// count adds n parts or tool calls, messages[i].field, to the request's total, or refuses the
// request (the path is only built for the error).
func (d *decoder) count(n, i int, field string) error {
	if d.parts+n > d.limits.Parts {
		at := msgPath(i) + "." + field
		return InvalidParam(at, "%s: the messages hold more than %d content parts and tool calls in all, the most this gateway accepts (GATEWAY_MAX_PARTS)", at, d.limits.Parts)
	}
	d.parts += n
	return nil
}

// content decodes the content union: null, a string, or an array of parts.
func (d *decoder) content(b []byte, i int) (Content, error) {
	switch jsonscan.Kind(b) {
	case 'n':
		if jsonscan.IsNull(b) {
			return Content{IsNull: true}, nil
		}
	case '"':
		s, err := jsonscan.Unquote(b)
		if err != nil {
			return Content{}, InvalidParam(msgPath(i)+".content", "%s.content is not a valid string", msgPath(i))
		}
		return Content{Text: s}, nil
	case '[':
		n, err := jsonscan.Len(b, d.limits.Parts-d.parts)
		if err != nil {
			at := msgPath(i) + ".content"
			return Content{}, InvalidParam(at, "%s is not a valid array: %v", at, err)
		}
		if err := d.count(n, i, "content"); err != nil {
			return Content{}, err
		}
		c := Content{IsParts: true, Parts: make([]Part, n)}
		_, err = jsonscan.ArrayAt(b, 0, func(j, start int) (int, error) {
			if err := d.tick(); err != nil {
				return start, err
			}
			return d.part(&c.Parts[j], b, start, i, j)
		})
		return c, err
	}
	return Content{}, InvalidParam(msgPath(i)+".content", "%s.content must be a string, an array of content parts, or null", msgPath(i))
}

// part decodes messages[i].content[j], the value at b[start], and returns the index just past it.
func (d *decoder) part(p *Part, b []byte, start, i, j int) (int, error) {
	at := func(f string) string { return partPath(i, j) + "." + f }
	if b[start] != '{' {
		return start, InvalidParam(partPath(i, j), "%s must be an object", partPath(i, j))
	}
	var unknown string // the first key not known; {"type":"x","x":…} is left to translate to refuse by type
	end, err := jsonscan.ObjectAt(b, start, func(k, _ []byte, vstart int) (int, error) {
		vend, err := jsonscan.SkipValue(b, vstart)
		if err != nil {
			return vend, err
		}
		v := b[vstart:vend]
		switch string(k) {
		case "type":
			p.Type, err = str(v, func() string { return at("type") })
		case "text":
			p.Text, err = str(v, func() string { return at("text") })
		case "refusal":
			p.Refusal, err = str(v, func() string { return at("refusal") })
		case "image_url":
			if jsonscan.Kind(v) == '"' { // Vertex's documented shorthand
				p.ImageURL = new(ImageURL)
				p.ImageURL.URL, err = str(v, func() string { return at("image_url") })
				return vend, err
			}
			err = members(v, at("image_url"), func(k, v []byte) (bool, error) {
				if p.ImageURL == nil {
					p.ImageURL = new(ImageURL)
				}
				f := func() string { return at("image_url." + string(k)) }
				var err error
				switch string(k) {
				case "url":
					p.ImageURL.URL, err = str(v, f)
				case "detail":
					p.ImageURL.Detail, err = str(v, f)
				default:
					return false, nil
				}
				return true, err
			})
		case "input_audio":
			err = members(v, at("input_audio"), func(k, v []byte) (bool, error) {
				if p.InputAudio == nil {
					p.InputAudio = new(InputAudio)
				}
				f := func() string { return at("input_audio." + string(k)) }
				var err error
				switch string(k) {
				case "data":
					p.InputAudio.Data, err = str(v, f)
				case "format":
					p.InputAudio.Format, err = str(v, f)
				default:
					return false, nil
				}
				return true, err
			})
		case "file":
			err = members(v, at("file"), func(k, v []byte) (bool, error) {
				if p.File == nil {
					p.File = new(File)
				}
				f := func() string { return at("file." + string(k)) }
				var err error
				switch string(k) {
				case "file_data":
					p.File.FileData, err = str(v, f)
				case "file_id":
					p.File.FileID, err = str(v, f)
				case "filename":
					p.File.Filename, err = str(v, f)
				case "format":
					p.File.Format, err = str(v, f)
				default:
					return false, nil
				}
				return true, err
			})
		case "extra_content":
			if p.ExtraContent == nil && d.fast && setExtraContent(&p.ExtraContent, v) {
				return vend, nil
			}
			err = decodeStrict(v, &p.ExtraContent, at("extra_content"))
		case "cache_control":
			// accepted and ignored: Anthropic-style prompt caching hints
		default:
			if unknown == "" {
				unknown = string(k)
			}
		}
		return vend, err
	})
	if err != nil {
		return end, err
	}
	if unknown != "" && unknown != p.Type {
		return end, unknownField(at(unknown))
	}
	if p.InputAudio != nil && p.InputAudio.Data != "" && !base64OrURI(p.InputAudio.Data, true) {
		return end, InvalidParam(at("input_audio.data"), "%s must be base64 or a data:, gs://, http:// or https:// URL", at("input_audio.data"))
	}
	if f := p.File; f != nil && f.FileData != "" && !base64OrURI(f.FileData, false) {
		return end, InvalidParam(at("file.file_data"), "%s must be a data: URI or base64", at("file.file_data"))
	}
	return end, nil
}

// members walks the object b (null is no object) at path at, calling fn for each member; a key
// fn does not know (it returns false) is a 400 naming its path.
func members(b []byte, at string, fn func(k, v []byte) (bool, error)) error {
	switch jsonscan.Kind(b) {
	case 'n':
		if jsonscan.IsNull(b) {
			return nil
		}
	case '{':
		return jsonscan.Object(b, func(k, v []byte) error {
			known, err := fn(k, v)
			if err == nil && !known {
				err = unknownField(at + "." + string(k))
			}
			return err
		})
	}
	return InvalidParam(at, "%s must be an object", at)
}

// str decodes a string or null field; at names it in the error.
func str(v []byte, at func() string) (string, error) {
	switch jsonscan.Kind(v) {
	case '"':
		if s, ok := symbol(v); ok {
			return s, nil
		}
		if s, err := jsonscan.Unquote(v); err == nil {
			return s, nil
		}
	case 'n':
		if jsonscan.IsNull(v) {
			return "", nil
		}
	}
	return "", InvalidParam(at(), "%s must be a string", at())
}

// symbols are the role and part type values, returned as constants so a request of many
// messages or parts does not hold a copy of each.
var symbols = [...]string{"user", "assistant", "system", "tool", "developer", "text", "image_url", "input_audio", "file"}

// symbol returns the constant for the quoted string raw when it is one of symbols.
func symbol(raw []byte) (string, bool) {
	if len(raw) < 2 || len(raw) > 13 {
		return "", false
	}
	inner := raw[1 : len(raw)-1]
	for _, s := range symbols {
		if string(inner) == s {
			return s, true
		}
	}
	return "", false
}

var (
	toolCallKeys     = []string{"index", "id", "type", "function", "extra_content"}
	functionCallKeys = []string{"name", "arguments", "thought_signature"}
	extraContentKeys = []string{"google"}
	googleExtraKeys  = []string{"thought_signature", "mime_type", "parts"}
)

// setToolCall decodes a tool call in the shape clients echo back: the keys of ToolCall, each
// once, spelled exactly, none null. It reports false for anything else, which decodeStrict then
// decodes (or refuses) from scratch.
func setToolCall(tc *ToolCall, v []byte) bool {
	return setToolCallAt(tc, v, 0) == len(v)
}

// setToolCallAt is setToolCall for the value at b[i]: the index just past it, or -1.
func setToolCallAt(tc *ToolCall, b []byte, i int) int {
	return fieldsAt(b, i, toolCallKeys, func(n, i int) int {
		switch n {
		case 0:
			return leafAt(b, i, func(v []byte) bool { return setIntPtr(&tc.Index, v) })
		case 1:
			return leafAt(b, i, func(v []byte) bool { return setString(&tc.ID, v) })
		case 2:
			return leafAt(b, i, func(v []byte) bool { return setString(&tc.Type, v) })
		case 3:
			f := &tc.Function
			return fieldsAt(b, i, functionCallKeys, func(n, i int) int {
				return leafAt(b, i, func(v []byte) bool {
					switch n {
					case 0:
						return setString(&f.Name, v)
					case 1:
						return setString(&f.Arguments, v)
					}
					return setString(&f.ThoughtSignature, v)
				})
			})
		}
		return setExtraContentAt(&tc.ExtraContent, b, i)
	})
}

// setExtraContent decodes extra_content, {"google": {"thought_signature", "mime_type", "parts"}},
// as setToolCall decodes a tool call.
func setExtraContent(p **ExtraContent, v []byte) bool {
	return setExtraContentAt(p, v, 0) == len(v)
}

// setExtraContentAt is setExtraContent for the value at b[i]: the index just past it, or -1.
func setExtraContentAt(p **ExtraContent, b []byte, i int) int {
	var e ExtraContent
	end := fieldsAt(b, i, extraContentKeys, func(_, i int) int {
		g := new(GoogleExtra)
		e.Google = g
		return fieldsAt(b, i, googleExtraKeys, func(n, i int) int {
			return leafAt(b, i, func(v []byte) bool {
				switch n {
				case 0:
					return setString(&g.ThoughtSignature, v)
				case 1:
					return setString(&g.MIMEType, v)
				}
				g.Parts = bytes.Clone(v)
				return true
			})
		})
	})
	if end >= 0 {
		*p = &e
	}
	return end
}
