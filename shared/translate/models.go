// Package translate holds the pure translation between the OpenAI Chat Completions format and
// Gemini's generateContent: requests one way, responses and stream events the other. Nothing here
// does I/O, reads the clock or keeps global state; time and ids come in as arguments.
package translate

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/geminigateway/gateway/shared/gemini"
	"github.com/geminigateway/gateway/shared/openai"
)

// DefaultAliases maps the names clients use to current Gemini model ids. Gemini ids churn
// monthly, so the table is overridable (GATEWAY_MODEL_ALIASES) and unknown gemini-* ids pass
// through unchanged.
var DefaultAliases = map[string]string{
	"gemini-3.1-pro":        "gemini-3.1-pro-preview",
	"gemini-3.0-pro":        "gemini-3.1-pro-preview", // gemini-3-pro-preview was shut down 2026-03-09
	"gemini-3-pro":          "gemini-3.1-pro-preview",
	"gemini-3-pro-preview":  "gemini-3.1-pro-preview",
	"gemini-3-flash":        "gemini-3-flash-preview",
	"gemini-3.0-flash":      "gemini-3-flash-preview",
	"gemini-3.1-flash-lite": "gemini-3.1-flash-lite",
	"gemini-pro":            "gemini-pro-latest",
	"gemini-flash":          "gemini-flash-latest",
	"gemini-flash-lite":     "gemini-flash-lite-latest",
	"nano-banana":           "gemini-3.1-flash-image",
	"nano-banana-pro":       "gemini-3-pro-image",
}

// DefaultModels are listed by GET /v1/models besides the aliases.
var DefaultModels = []string{
	"gemini-3.8-flash", "gemini-3.7-flash", "gemini-3.6-flash", "gemini-3.5-flash", "gemini-3.5-flash-lite",
	"gemini-3.1-pro-preview", "gemini-3.1-flash-lite", "gemini-3-flash-preview",
	"gemini-2.5-pro", "gemini-2.5-flash", "gemini-2.5-flash-lite",
	"gemini-3.1-flash-image", "gemini-3-pro-image",
}

// EmbeddingModels are the embedding models GET /v1/models lists besides the chat models;
// vertexOnlyEmbedding marks those the Developer API does not serve.
var EmbeddingModels = []string{"gemini-embedding-001", "text-embedding-005", "text-multilingual-embedding-002"}

var vertexOnlyEmbedding = map[string]bool{"text-embedding-005": true, "text-multilingual-embedding-002": true}

// Models is the model table: aliases to upstream ids and the list GET /v1/models shows.
type Models struct {
	aliases map[string]string
	listed  []string
	// known holds, for every alias and every listed gemini-* id, what Resolve returns for it and
	// the model's capabilities, so a request for a known model costs one lookup.
	known map[string]model
}

// model is a resolved upstream model id with its capabilities.
type model struct {
	id   string
	caps caps
}

// NewModels builds the table from the defaults overlaid with aliases (JSON object of name->id).
func NewModels(aliasJSON string) (*Models, error) {
	m := &Models{aliases: map[string]string{}}
	for k, v := range DefaultAliases {
		m.aliases[k] = v
	}
	if strings.TrimSpace(aliasJSON) != "" {
		var extra map[string]string
		if err := json.Unmarshal([]byte(aliasJSON), &extra); err != nil {
			return nil, fmt.Errorf("model aliases must be a JSON object of name to model id: %w", err)
		}
		for k, v := range extra {
			if !validModelID(v) {
				return nil, fmt.Errorf("model alias %q points at invalid model id %q", k, v)
			}
			m.aliases[k] = v
		}
	}
	seen := map[string]bool{}
	for _, id := range slices.Concat(DefaultModels, EmbeddingModels) {
		seen[id] = true
		m.listed = append(m.listed, id)
	}
	for k := range m.aliases {
		if !seen[k] {
			seen[k] = true
			m.listed = append(m.listed, k)
		}
	}
	slices.Sort(m.listed)
	m.known = make(map[string]model, len(m.listed))
	for _, name := range m.listed {
		if id, ok := m.lookup(name); ok {
			m.known[name] = model{id: id, caps: capsOf(id)}
		}
	}
	return m, nil
}

// List returns the model names for GET /v1/models, sorted.
func (m *Models) List() []string { return m.listed }

// ListFor returns List without the models backend b does not serve.
func (m *Models) ListFor(b gemini.Backend) []string {
	if b == gemini.Vertex {
		return m.listed
	}
	out := make([]string, 0, len(m.listed))
	for _, id := range m.listed {
		if !vertexOnlyEmbedding[id] {
			out = append(out, id)
		}
	}
	return out
}

// Resolve maps a client model name to the upstream Gemini id: the alias table first, then the
// "google/" prefix stripped (Vertex's OpenAI endpoint uses it), then any gemini-* id as is.
func (m *Models) Resolve(name string) (string, error) {
	r, err := m.resolve(name)
	return r.id, err
}

// resolve is Resolve with the model's capabilities: from the table of known models, else
// derived from the id.
func (m *Models) resolve(name string) (model, error) {
	if name == "" {
		return model{}, openai.InvalidParam("model", "model is required")
	}
	n := strings.TrimPrefix(name, "google/")
	n = strings.TrimPrefix(n, "models/")
	if r, ok := m.known[n]; ok {
		return r, nil
	}
	if id, ok := m.lookup(n); ok {
		return model{id: id, caps: capsOf(id)}, nil
	}
	return model{}, openai.Errorf(http.StatusNotFound, openai.CodeModelNotFound, "model",
		"The model %q does not exist or is not served by this gateway (use a gemini-* model id or one of GET /v1/models)", name)
}

// lookup maps a model name without prefix to its upstream id: the alias table first, then any
// valid gemini-* id as is.
func (m *Models) lookup(n string) (string, bool) {
	if id, ok := m.aliases[n]; ok {
		return id, true
	}
	if strings.HasPrefix(n, "gemini-") && validModelID(n) {
		return n, true
	}
	return "", false
}

// validModelID reports whether id is safe to put in an upstream URL path.
func validModelID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' || r == '_') {
			return false
		}
	}
	return !strings.Contains(id, "..")
}

// caps is what the gateway knows of a model family's thinking.
type caps struct {
	gen3      bool     // thinkingLevel (Gemini 3.x) rather than thinkingBudget (2.5)
	thinks    bool     // returns thoughts when asked
	levels    []string // accepted thinkingLevel values, lowest first
	minBudget int      // 2.5: smallest budget; 0 means thinking can be turned off
	minOn     int      // 2.5: smallest budget when thinking is on
	maxBudget int
}

// capsOf derives capabilities from the model id. Ids follow gemini-<version>-<tier>[-suffix].
// Sources: ai.google.dev thinking guide and the per-model pages (see research notes §4).
func capsOf(id string) caps {
	imageOrAudio := strings.Contains(id, "-image") || strings.Contains(id, "-tts") || strings.Contains(id, "-live")
	switch {
	case strings.HasPrefix(id, "gemini-2.5-"):
		if imageOrAudio {
			return caps{}
		}
		switch {
		case strings.Contains(id, "-pro"):
			return caps{thinks: true, minBudget: 128, maxBudget: 32768}
		case strings.Contains(id, "-flash-lite"):
			return caps{thinks: true, minBudget: 0, minOn: 512, maxBudget: 24576}
		default:
			return caps{thinks: true, minBudget: 0, maxBudget: 24576}
		}
	case strings.HasPrefix(id, "gemini-3"), strings.HasSuffix(id, "-latest"):
		if imageOrAudio && !strings.Contains(id, "pro-image") {
			return caps{gen3: true}
		}
		switch {
		case strings.Contains(id, "pro-image"):
			return caps{gen3: true, thinks: true, levels: []string{"low", "high"}}
		case strings.HasPrefix(id, "gemini-3-pro"):
			return caps{gen3: true, thinks: true, levels: []string{"low", "high"}}
		case strings.Contains(id, "-pro"):
			return caps{gen3: true, thinks: true, levels: []string{"low", "medium", "high"}}
		case strings.Contains(id, "-flash") && !strings.Contains(id, "-flash-lite") && version(id) >= 3.7:
			// Gemini 3.7 and 3.8 Flash take LOW, MEDIUM and HIGH only (Vertex AI "Thinking" page).
			return caps{gen3: true, thinks: true, levels: []string{"low", "medium", "high"}}
		default:
			return caps{gen3: true, thinks: true, levels: []string{"minimal", "low", "medium", "high"}}
		}
	}
	return caps{}
}

// version returns the x.y of a gemini-x.y-… id, or 0 when the id has none (gemini-flash-latest).
func version(id string) float64 {
	v, _, _ := strings.Cut(strings.TrimPrefix(id, "gemini-"), "-")
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return 0
	}
	return f
}

// IsGemini3 reports whether id is a Gemini 3.x model, which requires thought signatures.
func IsGemini3(id string) bool { return capsOf(id).gen3 }
