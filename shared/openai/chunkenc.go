package openai

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// AppendChunk appends the JSON of c to b exactly as an encoding/json Encoder with
// SetEscapeHTML(false) writes it (without the Encoder's trailing newline), for the shape nearly
// every chunk of a stream has: text, reasoning and role deltas, finish reasons and usage. Any
// other field set (tool calls, media, annotations, logprobs, a system fingerprint) makes it
// report false with b unchanged, and the caller encodes c with encoding/json.
// FuzzAppendChunk proves the output byte-identical to encoding/json's.
//
// Per event it saves the reflection walk of encoding/json, which a profile of a streaming load
// showed as the largest part of the per-event encoding cost.
func AppendChunk(b []byte, c *Chunk) ([]byte, bool) {
	if c.SystemFingerprint != nil {
		return b, false
	}
	for i := range c.Choices {
		ch := &c.Choices[i]
		d := &ch.Delta
		if ch.Logprobs != nil || d.ToolCalls != nil || d.Audio != nil || d.Images != nil || d.Annotations != nil || d.ExtraContent != nil {
			return b, false
		}
	}
	var usage []byte
	if c.Usage.Totals != nil {
		var err error
		if usage, err = json.Marshal(c.Usage.Totals); err != nil {
			return b, false
		}
	}
	b = append(b, `{"id":`...)
	b = appendString(b, c.ID)
	b = append(b, `,"object":`...)
	b = appendString(b, c.Object)
	b = append(b, `,"created":`...)
	b = strconv.AppendInt(b, c.Created, 10)
	b = append(b, `,"model":`...)
	b = appendString(b, c.Model)
	b = append(b, `,"system_fingerprint":null,"choices":`...)
	if c.Choices == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range c.Choices {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendChunkChoice(b, &c.Choices[i])
		}
		b = append(b, ']')
	}
	switch {
	case c.Usage.Totals != nil:
		b = append(b, `,"usage":`...)
		b = append(b, usage...)
	case c.Usage.Null:
		b = append(b, `,"usage":null`...)
	}
	return append(b, '}'), true
}

func appendChunkChoice(b []byte, ch *ChunkChoice) []byte {
	b = append(b, `{"index":`...)
	b = strconv.AppendInt(b, int64(ch.Index), 10)
	b = append(b, `,"delta":{`...)
	sep := false
	field := func(name string) {
		if sep {
			b = append(b, ',')
		}
		sep = true
		b = append(b, name...)
	}
	if ch.Delta.Role != "" {
		field(`"role":`)
		b = appendString(b, ch.Delta.Role)
	}
	if ch.Delta.Content != nil {
		field(`"content":`)
		b = appendString(b, *ch.Delta.Content)
	}
	if ch.Delta.ReasoningContent != nil {
		field(`"reasoning_content":`)
		b = appendString(b, *ch.Delta.ReasoningContent)
	}
	b = append(b, `},"logprobs":null,"finish_reason":`...)
	if ch.FinishReason == nil {
		b = append(b, "null"...)
	} else {
		b = appendString(b, *ch.FinishReason)
	}
	if ch.NativeFinishReason != "" {
		b = append(b, `,"native_finish_reason":`...)
		b = appendString(b, ch.NativeFinishReason)
	}
	return append(b, '}')
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string the way encoding/json does without HTML escaping:
// '"' and '\\' escaped, \b \f \n \r \t short, other control bytes as \u00XX, invalid UTF-8 as
// \ufffd, and U+2028 and U+2029 escaped (JavaScript line terminators).
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
