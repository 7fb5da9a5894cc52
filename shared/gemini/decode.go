package gemini

import (
	"bytes"
	"encoding/json"
	"errors"

	"github.com/geminigateway/gateway/shared/jsonscan"
)

// fastResponse decodes a generateContent response or a stream event into a new Response,
// exactly as json.Unmarshal does, or declines (ok false) and the caller runs json.Unmarshal. The
// common shapes (text, thought and function-call parts, finish reasons, usage) take this
// hand-written path on the shared scanner, jsonscan: per event it makes a handful of allocations
// where encoding/json's reflection makes about fifteen. Anything else — a field it does not
// decode, a null, a repeated or case-folded key, a number that is not a plain integer, text that
// is not JSON — is declined, so the result and the error are always encoding/json's
// (FuzzFastResponse holds the two paths to the same result).
//
// A stream's events are decoded with an "error" member beside the Response's (an error written
// into the stream): the fast path declines that key.
func fastResponse(b []byte) (*Response, bool) {
	r := new(Response)
	seen := 0
	end, err := jsonscan.ObjectAt(b, 0, func(key, _ []byte, i int) (int, error) {
		switch string(key) {
		case "candidates":
			if once(&seen, 1) {
				return i, errDecline
			}
			return decodeArray(b, i, &r.Candidates, decodeCandidate)
		case "usageMetadata":
			if once(&seen, 2) {
				return i, errDecline
			}
			r.UsageMetadata = new(UsageMetadata)
			return decodeUsage(b, i, r.UsageMetadata)
		case "modelVersion":
			if once(&seen, 4) {
				return i, errDecline
			}
			return decodeString(b, i, &r.ModelVersion)
		case "responseId":
			if once(&seen, 8) {
				return i, errDecline
			}
			return decodeString(b, i, &r.ResponseID)
		}
		return skipUnknown(b, i, key, "candidates", "usageMetadata", "modelVersion", "responseId", "promptFeedback", "error")
	})
	if err != nil || jsonscan.SkipSpace(b, end) != len(b) {
		return nil, false
	}
	return r, true
}

// errDecline stops the fast path: encoding/json decodes the text instead.
var errDecline = errors.New("gemini: not a shape the fast decoder takes")

func decodeCandidate(b []byte, i int, c *Candidate) (int, error) {
	seen := 0
	return jsonscan.ObjectAt(b, i, func(key, _ []byte, i int) (int, error) {
		switch string(key) {
		case "content":
			if once(&seen, 1) {
				return i, errDecline
			}
			c.Content = new(Content)
			return decodeContent(b, i, c.Content)
		case "finishReason":
			if once(&seen, 2) {
				return i, errDecline
			}
			return decodeString(b, i, &c.FinishReason)
		case "finishMessage":
			if once(&seen, 4) {
				return i, errDecline
			}
			return decodeString(b, i, &c.FinishMessage)
		case "index":
			if once(&seen, 8) {
				return i, errDecline
			}
			return decodeInt(b, i, &c.Index)
		}
		return skipUnknown(b, i, key, "content", "finishReason", "finishMessage", "index", "logprobsResult", "groundingMetadata")
	})
}

func decodeContent(b []byte, i int, c *Content) (int, error) {
	seen := 0
	return jsonscan.ObjectAt(b, i, func(key, _ []byte, i int) (int, error) {
		switch string(key) {
		case "role":
			if once(&seen, 1) {
				return i, errDecline
			}
			return decodeString(b, i, &c.Role)
		case "parts":
			if once(&seen, 2) {
				return i, errDecline
			}
			return decodeArray(b, i, &c.Parts, decodePart)
		}
		return skipUnknown(b, i, key, "role", "parts")
	})
}

func decodePart(b []byte, i int, p *Part) (int, error) {
	seen := 0
	return jsonscan.ObjectAt(b, i, func(key, _ []byte, i int) (int, error) {
		switch string(key) {
		case "text":
			if once(&seen, 1) {
				return i, errDecline
			}
			return decodeString(b, i, &p.Text)
		case "thought":
			if once(&seen, 2) {
				return i, errDecline
			}
			return decodeBool(b, i, &p.Thought)
		case "thoughtSignature":
			if once(&seen, 4) {
				return i, errDecline
			}
			return decodeString(b, i, &p.ThoughtSignature)
		case "functionCall":
			if once(&seen, 8) {
				return i, errDecline
			}
			p.FunctionCall = new(FunctionCall)
			return decodeFunctionCall(b, i, p.FunctionCall)
		}
		return skipUnknown(b, i, key, "text", "thought", "thoughtSignature", "inlineData", "fileData", "functionCall",
			"functionResponse", "mediaResolution", "executableCode", "codeExecutionResult")
	})
}

func decodeFunctionCall(b []byte, i int, f *FunctionCall) (int, error) {
	seen := 0
	return jsonscan.ObjectAt(b, i, func(key, _ []byte, i int) (int, error) {
		switch string(key) {
		case "id":
			if once(&seen, 1) {
				return i, errDecline
			}
			return decodeString(b, i, &f.ID)
		case "name":
			if once(&seen, 2) {
				return i, errDecline
			}
			return decodeString(b, i, &f.Name)
		case "args":
			if once(&seen, 4) {
				return i, errDecline
			}
			// json.RawMessage keeps a copy of the value as written; null is left to json.
			end, err := skipValid(b, i)
			if err != nil || jsonscan.IsNull(b[i:end]) {
				return end, errDecline
			}
			f.Args = bytes.Clone(b[i:end])
			return end, nil
		case "willContinue":
			if once(&seen, 8) {
				return i, errDecline
			}
			return decodeBool(b, i, &f.WillContinue)
		}
		return skipUnknown(b, i, key, "id", "name", "args", "partialArgs", "willContinue")
	})
}

func decodeUsage(b []byte, i int, u *UsageMetadata) (int, error) {
	seen := 0
	return jsonscan.ObjectAt(b, i, func(key, _ []byte, i int) (int, error) {
		var n *int
		var bit int
		switch string(key) {
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
			return decodeArray(b, i, &u.PromptTokensDetails, decodeModalityCount)
		case "candidatesTokensDetails":
			if once(&seen, 128) {
				return i, errDecline
			}
			return decodeArray(b, i, &u.CandidatesTokensDetails, decodeModalityCount)
		case "trafficType":
			if once(&seen, 256) {
				return i, errDecline
			}
			return decodeString(b, i, &u.TrafficType)
		default:
			return skipUnknown(b, i, key, "promptTokenCount", "candidatesTokenCount", "totalTokenCount", "cachedContentTokenCount",
				"toolUsePromptTokenCount", "thoughtsTokenCount", "promptTokensDetails", "candidatesTokensDetails", "trafficType")
		}
		if once(&seen, bit) {
			return i, errDecline
		}
		return decodeInt(b, i, n)
	})
}

func decodeModalityCount(b []byte, i int, m *ModalityTokenCount) (int, error) {
	seen := 0
	return jsonscan.ObjectAt(b, i, func(key, _ []byte, i int) (int, error) {
		switch string(key) {
		case "modality":
			if once(&seen, 1) {
				return i, errDecline
			}
			return decodeString(b, i, &m.Modality)
		case "tokenCount":
			if once(&seen, 2) {
				return i, errDecline
			}
			return decodeInt(b, i, &m.TokenCount)
		}
		return skipUnknown(b, i, key, "modality", "tokenCount")
	})
}

// once marks bit in seen and reports whether it was already set: a key that comes twice is left
// to encoding/json, whose rules for repeats (the last wins, objects merge) the fast path does
// not copy.
func once(seen *int, bit int) bool {
	dup := *seen&bit != 0
	*seen |= bit
	return dup
}

// decodeArray decodes the array at b[i] into a new slice at *s, each element with elem. An empty
// array is an empty slice, not nil, as encoding/json makes it.
func decodeArray[T any](b []byte, i int, s *[]T, elem func([]byte, int, *T) (int, error)) (int, error) {
	if b[i] != '[' {
		return i, errDecline
	}
	out := make([]T, 0, 1)
	end, err := jsonscan.ArrayAt(b, i, func(_, i int) (int, error) {
		out = append(out, *new(T))
		return elem(b, i, &out[len(out)-1])
	})
	*s = out
	return end, err
}

// decodeString decodes the string at b[i]; any other value is declined.
func decodeString(b []byte, i int, s *string) (int, error) {
	if b[i] != '"' {
		return i, errDecline
	}
	end, err := jsonscan.SkipString(b, i)
	if err != nil {
		return end, errDecline
	}
	if v, ok := common(b[i+1 : end-1]); ok {
		*s = v
		return end, nil
	}
	v, err := jsonscan.Unquote(b[i:end])
	if err != nil {
		return end, errDecline
	}
	*s = v
	return end, nil
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

// skipUnknown skips the value of a key the fast path does not decode, after checking that it is
// valid JSON. A key that is one of fields, or equal to one but for case (encoding/json matches
// keys case-insensitively), is declined: encoding/json decodes it.
func skipUnknown(b []byte, i int, key []byte, fields ...string) (int, error) {
	for _, f := range fields {
		if bytes.EqualFold(key, []byte(f)) {
			return i, errDecline
		}
	}
	return skipValid(b, i)
}

// skipValid returns the end of the value at b[i], declining one that is not valid JSON.
func skipValid(b []byte, i int) (int, error) {
	end, err := jsonscan.SkipValue(b, i)
	if err != nil || !json.Valid(b[i:end]) {
		return end, errDecline
	}
	return end, nil
}
