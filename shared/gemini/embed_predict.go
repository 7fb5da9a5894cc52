package gemini

import (
	"encoding/json"
	"errors"
	"strconv"

	"github.com/geminigateway/gateway/shared/jsonscan"
)

// scanPredictions reads a Vertex predict answer,
// {"predictions":[{"embeddings":{"values":[…],"statistics":{"token_count":n,"truncated":b}}},…],…},
// with the one JSON scanner (jsonscan), and reports whether it could. It takes what encoding/json
// would decode into EmbedResponse, with the same values: every key spelled exactly as the
// struct's tags (a key that encoding/json would fold onto a field, "Predictions" or
// "token-count", leaves the answer to encoding/json), none twice, token counts numbers within
// float64, truncated a boolean, statistics an object; every other member (deployedModelId,
// metadata…) is checked as JSON and skipped. Each vector is the array as sent, which aliases b
// and ends at its first ']' (numbers hold none); what it holds is left to translate to check,
// as it is for encoding/json's json.RawMessage.
func scanPredictions(b []byte, w Watcher) ([]Prediction, bool) {
	var preds []Prediction
	seen := false
	end, err := jsonscan.ObjectAt(b, 0, func(key, raw []byte, i int) (int, error) {
		switch string(raw) {
		case `"predictions"`:
			if seen {
				return i, errFallBack
			}
			seen = true
			if jsonscan.Kind(b[i:]) != '[' {
				return i, errFallBack
			}
			return jsonscan.ArrayAt(b, i, func(_, i int) (int, error) {
				preds = append(preds, Prediction{})
				return scanPrediction(b, i, &preds[len(preds)-1], w)
			})
		}
		return skipMember(b, raw, i, "predictions", "embeddings")
	})
	if err != nil || !seen || jsonscan.SkipSpace(b, end) != len(b) {
		return nil, false
	}
	return preds, true
}

// errFallBack stops a hand-written read: the answer goes to encoding/json.
var errFallBack = errors.New("gemini: answer left to encoding/json")

// scanPrediction reads the prediction object at b[i] into p.
func scanPrediction(b []byte, i int, p *Prediction, w Watcher) (int, error) {
	seen := false
	return jsonscan.ObjectAt(b, i, func(key, raw []byte, i int) (int, error) {
		if string(raw) != `"embeddings"` {
			return skipMember(b, raw, i, "embeddings")
		}
		if seen {
			return i, errFallBack
		}
		seen = true
		var values, stats bool
		return jsonscan.ObjectAt(b, i, func(key, raw []byte, i int) (int, error) {
			switch string(raw) {
			case `"values"`:
				if values || i >= len(b) || b[i] != '[' {
					return i, errFallBack
				}
				values = true
				n := vectorLen(b, i, w)
				if n < 0 { // a '[' inside is translate's to refuse, as in scanDeveloperEmbeddings
					return i, errFallBack
				}
				p.Embeddings.Values = b[i : i+n+1 : i+n+1]
				p.at = i + 1
				return i + n + 1, nil
			case `"statistics"`:
				if stats || i >= len(b) || b[i] != '{' {
					return i, errFallBack
				}
				stats = true
				p.Embeddings.Statistics = new(EmbedStatistics)
				return scanStatistics(b, i, p.Embeddings.Statistics)
			}
			return skipMember(b, raw, i, "values", "statistics")
		})
	})
}

// scanStatistics reads the statistics object at b[i] into s.
func scanStatistics(b []byte, i int, s *EmbedStatistics) (int, error) {
	var seen [3]bool
	return jsonscan.ObjectAt(b, i, func(key, raw []byte, i int) (int, error) {
		k := -1
		switch string(raw) {
		case `"token_count"`:
			k = 0
		case `"tokenCount"`:
			k = 1
		case `"truncated"`:
			k = 2
		default:
			return skipMember(b, raw, i, "token_count", "tokenCount", "truncated")
		}
		if seen[k] {
			return i, errFallBack
		}
		seen[k] = true
		end, err := jsonscan.SkipValue(b, i)
		if err != nil {
			return end, errFallBack
		}
		lit := b[i:end]
		switch k {
		case 2:
			switch string(lit) {
			case "true":
				s.Truncated = true
			case "false":
				s.Truncated = false
			default:
				return end, errFallBack
			}
		default:
			if !jsonNumber(lit) {
				return end, errFallBack
			}
			f, err := strconv.ParseFloat(string(lit), 64)
			if err != nil { // beyond float64, which encoding/json refuses too
				return end, errFallBack
			}
			if k == 0 {
				s.TokenCount = f
			} else {
				s.TokenCountCamel = f
			}
		}
		return end, nil
	})
}

// jsonNumber reports whether lit is exactly one JSON number (RFC 8259's grammar: -?, then 0 or
// a digit 1-9 and more digits, then an optional fraction and exponent), what json.Valid says of
// a number, without its scanner: Vertex writes a count for every input.
func jsonNumber(lit []byte) bool {
	i := 0
	if i < len(lit) && lit[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(lit) && lit[i] >= '0' && lit[i] <= '9' {
			i++
			n++
		}
		return n
	}
	switch {
	case i < len(lit) && lit[i] == '0':
		i++
	case digits() == 0:
		return false
	}
	if i < len(lit) && lit[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(lit) && (lit[i] == 'e' || lit[i] == 'E') {
		i++
		if i < len(lit) && (lit[i] == '+' || lit[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(lit)
}

// skipMember skips the value at b[i] of a member that is none of the fields read, after checking
// it as JSON. A key that is not plain printable ASCII, or that encoding/json could match to one
// of the fields (it folds case, and its newer matching also ignores '_' and '-'), falls back.
func skipMember(b, raw []byte, i int, fields ...string) (int, error) {
	for _, c := range raw {
		if c < 0x20 || c > 0x7e || c == '\\' {
			return i, errFallBack
		}
	}
	key := foldKey(raw[1 : len(raw)-1])
	for _, f := range fields {
		if key == foldKey([]byte(f)) {
			return i, errFallBack
		}
	}
	end, err := jsonscan.SkipValue(b, i)
	if err != nil || !json.Valid(b[i:end]) {
		return end, errFallBack
	}
	return end, nil
}

// foldKey lowers an ASCII key's letters and drops its '_' and '-'.
func foldKey(k []byte) string {
	out := make([]byte, 0, len(k))
	for _, c := range k {
		switch {
		case c == '_' || c == '-':
		case 'A' <= c && c <= 'Z':
			out = append(out, c+'a'-'A')
		default:
			out = append(out, c)
		}
	}
	return string(out)
}
