package openai

import (
	"strconv"
	"strings"
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
	// The usage of a chunk is encoded by ChunkUsage.MarshalJSON with json.Marshal, which escapes
	// <, > and & (the Encoder keeps a Marshaler's escapes): a traffic type holding one is left
	// to encoding/json.
	if u := c.Usage.Totals; u != nil && u.ExtraProperties != nil && u.ExtraProperties.Google != nil &&
		strings.ContainsAny(u.ExtraProperties.Google.TrafficType, "<>&") {
		return b, false
	}
	b = append(b, `{"id":`...)
	b = AppendString(b, c.ID)
	b = append(b, `,"object":`...)
	b = AppendString(b, c.Object)
	b = append(b, `,"created":`...)
	b = strconv.AppendInt(b, c.Created, 10)
	b = append(b, `,"model":`...)
	b = AppendString(b, c.Model)
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
		b = appendUsage(b, c.Usage.Totals)
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
		b = AppendString(b, ch.Delta.Role)
	}
	if ch.Delta.Content != nil {
		field(`"content":`)
		b = AppendString(b, *ch.Delta.Content)
	}
	if ch.Delta.ReasoningContent != nil {
		field(`"reasoning_content":`)
		b = AppendString(b, *ch.Delta.ReasoningContent)
	}
	b = append(b, `},"logprobs":null,"finish_reason":`...)
	if ch.FinishReason == nil {
		b = append(b, "null"...)
	} else {
		b = AppendString(b, *ch.FinishReason)
	}
	if ch.NativeFinishReason != "" {
		b = append(b, `,"native_finish_reason":`...)
		b = AppendString(b, ch.NativeFinishReason)
	}
	return append(b, '}')
}

// AppendResponse appends the JSON of r to b exactly as an encoding/json Encoder with
// SetEscapeHTML(false) writes it (without the Encoder's trailing newline), for the shape of
// nearly every non-streamed completion: text and reasoning content, finish reasons, usage. Any
// other field set (tool calls, media, annotations, logprobs) makes it report false with b
// unchanged, and the caller encodes r with encoding/json. FuzzAppendResponse proves the output
// byte-identical to encoding/json's.
func AppendResponse(b []byte, r *Response) ([]byte, bool) {
	for i := range r.Choices {
		ch := &r.Choices[i]
		m := &ch.Message
		if ch.Logprobs != nil || m.ToolCalls != nil || m.Audio != nil || m.Images != nil || m.Annotations != nil || m.ExtraContent != nil {
			return b, false
		}
	}
	b = append(b, `{"id":`...)
	b = AppendString(b, r.ID)
	b = append(b, `,"object":`...)
	b = AppendString(b, r.Object)
	b = append(b, `,"created":`...)
	b = strconv.AppendInt(b, r.Created, 10)
	b = append(b, `,"model":`...)
	b = AppendString(b, r.Model)
	b = append(b, `,"system_fingerprint":`...)
	b = appendStringPtr(b, r.SystemFingerprint)
	b = append(b, `,"choices":`...)
	if r.Choices == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range r.Choices {
			if i > 0 {
				b = append(b, ',')
			}
			ch := &r.Choices[i]
			b = append(b, `{"index":`...)
			b = strconv.AppendInt(b, int64(ch.Index), 10)
			b = append(b, `,"message":{"role":`...)
			b = AppendString(b, ch.Message.Role)
			b = append(b, `,"content":`...)
			b = appendStringPtr(b, ch.Message.Content)
			if ch.Message.ReasoningContent != nil {
				b = append(b, `,"reasoning_content":`...)
				b = AppendString(b, *ch.Message.ReasoningContent)
			}
			b = append(b, `},"finish_reason":`...)
			b = appendStringPtr(b, ch.FinishReason)
			b = append(b, `,"logprobs":null`...)
			if ch.NativeFinishReason != "" {
				b = append(b, `,"native_finish_reason":`...)
				b = AppendString(b, ch.NativeFinishReason)
			}
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if r.Usage != nil {
		b = append(b, `,"usage":`...)
		b = appendUsage(b, r.Usage)
	}
	return append(b, '}'), true
}

// appendUsage appends u as encoding/json encodes a Usage.
func appendUsage(b []byte, u *Usage) []byte {
	num := func(name string, n int) {
		b = append(b, name...)
		b = strconv.AppendInt(b, int64(n), 10)
	}
	num(`{"prompt_tokens":`, u.PromptTokens)
	num(`,"completion_tokens":`, u.CompletionTokens)
	num(`,"total_tokens":`, u.TotalTokens)
	p := &u.PromptTokensDetails
	num(`,"prompt_tokens_details":{"cached_tokens":`, p.CachedTokens)
	num(`,"text_tokens":`, p.TextTokens)
	num(`,"audio_tokens":`, p.AudioTokens)
	num(`,"image_tokens":`, p.ImageTokens)
	c := &u.CompletionTokensDetails
	num(`},"completion_tokens_details":{"text_tokens":`, c.TextTokens)
	num(`,"audio_tokens":`, c.AudioTokens)
	num(`,"reasoning_tokens":`, c.ReasoningTokens)
	if c.ImageTokens != 0 {
		num(`,"image_tokens":`, c.ImageTokens)
	}
	b = append(b, '}')
	if x := u.ExtraProperties; x != nil {
		b = append(b, `,"extra_properties":{`...)
		if x.Google != nil {
			b = append(b, `"google":{`...)
			if x.Google.TrafficType != "" {
				b = append(b, `"traffic_type":`...)
				b = AppendString(b, x.Google.TrafficType)
			}
			b = append(b, '}')
		}
		b = append(b, '}')
	}
	return append(b, '}')
}

// appendStringPtr appends *s as a JSON string, or null.
func appendStringPtr(b []byte, s *string) []byte {
	if s == nil {
		return append(b, "null"...)
	}
	return AppendString(b, *s)
}

const hexDigits = "0123456789abcdef"

// AppendString appends s as a JSON string the way encoding/json does without HTML escaping:
// '"' and '\\' escaped, \b \f \n \r \t short, other control bytes as \u00XX, invalid UTF-8 as
// \ufffd, and U+2028 and U+2029 escaped (JavaScript line terminators). Every hand-written
// encoder of the gateway's own JSON shares it (FuzzAppendChunk and FuzzAppendResponse pin it).
func AppendString(b []byte, s string) []byte { return appendString(b, s, quoteJSON) }

// AppendSlogString appends s as log/slog's JSONHandler quotes a string: as AppendString, but
// \b and \f as \u0008 and \u000c (the gateway's log line, pinned by FuzzLineHandler).
func AppendSlogString(b []byte, s string) []byte { return appendString(b, s, quoteSlog) }

// The quoting rules appendString knows.
type quoting uint8

const (
	quoteJSON = quoting(iota) // encoding/json with SetEscapeHTML(false)
	quoteHTML                 // json.Marshal: also <, > and & as \u003c, \u003e and \u0026
	quoteSlog                 // log/slog's JSONHandler: \b and \f as \u00XX
)

// appendString appends s quoted by rule q. Runs of eight bytes that need no escape are skipped
// at once.
func appendString(b []byte, s string, q quoting) []byte {
	html := q == quoteHTML
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		for i+8 <= len(s) && !special8(s[i:i+8], html) {
			i += 8
		}
		if i >= len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && (!html || c != '<' && c != '>' && c != '&') {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b', '\f':
				if q == quoteSlog {
					b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
				} else if c == '\b' {
					b = append(b, '\\', 'b')
				} else {
					b = append(b, '\\', 'f')
				}
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

// special8 reports whether any of the eight bytes of s may need attention: a control byte, '"',
// '\\', a byte of a multi-byte character, or with html <, > or &. It may report true for a
// byte that needs none (the caller then looks at one byte), never false for one that does.
func special8(s string, html bool) bool {
	_ = s[7]
	x := uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
	const lsb, msb = 0x0101010101010101, 0x8080808080808080
	// hasZero(v) is non-zero when a byte of v is zero (the classic test, exact as to whether).
	hasZero := func(v uint64) uint64 { return (v - lsb) & ^v & msb }
	t := x&msb | (x-0x20*lsb)&^x&msb | hasZero(x^'"'*lsb) | hasZero(x^'\\'*lsb)
	if html {
		t |= hasZero(x^'<'*lsb) | hasZero(x^'>'*lsb) | hasZero(x^'&'*lsb)
	}
	return t != 0
}
