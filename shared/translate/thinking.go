package translate

import (
	"slices"
	"strings"

	"github.com/geminigateway/gateway/shared/gemini"
	"github.com/geminigateway/gateway/shared/openai"
)

// budgetFor maps reasoning_effort to a Gemini 2.5 thinkingBudget as Google documents it for its
// OpenAI-compatible endpoint: none 0, minimal 1024, low 1024, medium 8192, high 24576 (the
// "Thinking" table of https://ai.google.dev/gemini-api/docs/openai, also in google-gemini/cookbook
// quickstarts/Get_started_OpenAI_Compatibility.ipynb). The README holds the whole table.
func budgetFor(effort string) (int, bool) {
	switch effort {
	case "none":
		return 0, true
	case "minimal", "low":
		return 1024, true
	case "medium":
		return 8192, true
	case "high":
		return 24576, true
	}
	return 0, false
}

// thinkingSlot is where thinkingInto writes: the config and the values its pointers point at,
// so that a translation allocates them together with the rest of the request.
type thinkingSlot struct {
	cfg     gemini.ThinkingConfig
	include bool
	budget  int
}

// thinkingConfig builds thinkingConfig from reasoning_effort and google.thinking_config. It sets
// thinkingLevel on Gemini 3.x and thinkingBudget on 2.5, never both (the API rejects both), and
// clamps to what the model accepts. includeDefault is whether thoughts come back unless the
// request says otherwise.
func thinkingConfig(model string, effort string, tc *openai.ThinkingConfig, includeDefault bool) (*gemini.ThinkingConfig, error) {
	return thinkingInto(new(thinkingSlot), capsOf(model), effort, tc, includeDefault)
}

// thinkingInto is thinkingConfig for a model of capabilities c, built in s. It returns nil
// when there is nothing to send, else &s.cfg.
func thinkingInto(s *thinkingSlot, c caps, effort string, tc *openai.ThinkingConfig, includeDefault bool) (*gemini.ThinkingConfig, error) {
	if effort == "" && tc == nil {
		// The common request: thoughts on or off by default, nothing else.
		if !includeDefault || !c.thinks {
			return nil, nil
		}
		s.include = true
		s.cfg.IncludeThoughts = &s.include
		return &s.cfg, nil
	}
	out := &s.cfg
	if effort != "" {
		if _, ok := budgetFor(effort); !ok {
			return nil, openai.InvalidParam("reasoning_effort", "reasoning_effort must be one of none, minimal, low, medium, high; got %q", effort)
		}
		if tc != nil && (tc.ThinkingBudget != nil || tc.ThinkingLevel != "") {
			return nil, openai.InvalidParam("reasoning_effort", "reasoning_effort and google.thinking_config thinking_budget/thinking_level are mutually exclusive")
		}
	}
	if tc != nil && tc.ThinkingBudget != nil && tc.ThinkingLevel != "" {
		return nil, openai.InvalidParam("thinking_config", "thinking_budget and thinking_level cannot both be set")
	}
	switch {
	case tc != nil && tc.ThinkingLevel != "":
		lvl := strings.ToLower(tc.ThinkingLevel)
		lb, ok := budgetFor(lvl)
		if !ok || lvl == "none" {
			return nil, openai.InvalidParam("thinking_config.thinking_level", "thinking_level must be one of minimal, low, medium, high; got %q", tc.ThinkingLevel)
		}
		if c.gen3 {
			out.ThinkingLevel = clampLevel(c, lvl)
		} else {
			s.budget = clampBudget(c, lb)
			out.ThinkingBudget = &s.budget
		}
	case tc != nil && tc.ThinkingBudget != nil:
		b := *tc.ThinkingBudget
		if b < -1 {
			return nil, openai.InvalidParam("thinking_config.thinking_budget", "thinking_budget must be -1 (dynamic), 0 (off) or positive; got %d", b)
		}
		if b != -1 && !c.gen3 {
			b = clampBudget(c, b)
		}
		// Gemini 3 still accepts thinkingBudget for compatibility; pass what was asked.
		s.budget = b
		out.ThinkingBudget = &s.budget
	case effort != "":
		if c.gen3 {
			out.ThinkingLevel = clampLevel(c, effort)
		} else if c.thinks {
			eb, _ := budgetFor(effort)
			s.budget = clampBudget(c, eb)
			out.ThinkingBudget = &s.budget
		}
	}
	include := includeDefault && c.thinks
	if tc != nil && tc.IncludeThoughts != nil {
		include = *tc.IncludeThoughts
	}
	if out.ThinkingBudget != nil && *out.ThinkingBudget == 0 {
		include = false // thinking is off: includeThoughts would be rejected
	}
	if include || tc != nil && tc.IncludeThoughts != nil {
		s.include = include
		out.IncludeThoughts = &s.include
	}
	if out.IncludeThoughts == nil && out.ThinkingBudget == nil && out.ThinkingLevel == "" {
		return nil, nil
	}
	return out, nil
}

// clampLevel maps an effort to the nearest level the Gemini 3 model accepts: "none" and
// "minimal" become the lowest level (3.x Pro cannot turn thinking off), "medium" on a model
// without it rounds up.
func clampLevel(c caps, effort string) string {
	if len(c.levels) == 0 {
		return effort
	}
	if effort == "none" {
		return c.levels[0]
	}
	if slices.Contains(c.levels, effort) {
		return effort
	}
	order := []string{"minimal", "low", "medium", "high"}
	want := slices.Index(order, effort)
	for _, l := range c.levels {
		if slices.Index(order, l) >= want {
			return l
		}
	}
	return c.levels[len(c.levels)-1]
}

func clampBudget(c caps, b int) int {
	if b == 0 && c.minBudget == 0 {
		return 0
	}
	if b < c.minBudget {
		b = c.minBudget
	}
	if b > 0 && b < c.minOn {
		b = c.minOn
	}
	if c.maxBudget > 0 && b > c.maxBudget {
		b = c.maxBudget
	}
	return b
}
