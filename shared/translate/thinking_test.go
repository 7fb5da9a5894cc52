package translate

import (
	"encoding/json"
	"testing"

	"github.com/geminigateway/gateway/shared/openai"
)

// TestThinkingPerFamily pins reasoning_effort per model family: a level on 3.x (clamped to the
// levels the model has), a budget on 2.5 (clamped to its range), never both.
func TestThinkingPerFamily(t *testing.T) {
	budget := func(n int) *int { return &n }
	for _, tc := range []struct {
		model, effort string
		tc            *openai.ThinkingConfig
		want          string
	}{
		{"gemini-3.1-pro-preview", "minimal", nil, `{"includeThoughts":true,"thinkingLevel":"low"}`},
		{"gemini-3.1-pro-preview", "medium", nil, `{"includeThoughts":true,"thinkingLevel":"medium"}`},
		{"gemini-3-pro-image", "medium", nil, `{"includeThoughts":true,"thinkingLevel":"high"}`},
		{"gemini-3-flash-preview", "none", nil, `{"includeThoughts":true,"thinkingLevel":"minimal"}`},
		{"gemini-3.5-flash", "high", nil, `{"includeThoughts":true,"thinkingLevel":"high"}`},
		{"gemini-3.6-flash", "minimal", nil, `{"includeThoughts":true,"thinkingLevel":"minimal"}`},
		{"gemini-3.8-flash", "minimal", nil, `{"includeThoughts":true,"thinkingLevel":"low"}`},
		{"gemini-3.7-flash", "none", nil, `{"includeThoughts":true,"thinkingLevel":"low"}`},
		{"gemini-3.5-flash-lite", "minimal", nil, `{"includeThoughts":true,"thinkingLevel":"minimal"}`},
		{"gemini-2.5-flash", "minimal", nil, `{"includeThoughts":true,"thinkingBudget":1024}`},
		{"gemini-2.5-flash", "none", nil, `{"thinkingBudget":0}`},
		{"gemini-2.5-flash", "high", nil, `{"includeThoughts":true,"thinkingBudget":24576}`},
		{"gemini-2.5-pro", "none", nil, `{"includeThoughts":true,"thinkingBudget":128}`},
		{"gemini-2.5-flash-lite", "", &openai.ThinkingConfig{ThinkingBudget: budget(100)}, `{"includeThoughts":true,"thinkingBudget":512}`},
		{"gemini-2.5-flash", "", &openai.ThinkingConfig{ThinkingBudget: budget(-1)}, `{"includeThoughts":true,"thinkingBudget":-1}`},
		{"gemini-2.5-flash", "", &openai.ThinkingConfig{ThinkingLevel: "low"}, `{"includeThoughts":true,"thinkingBudget":1024}`},
		{"gemini-2.5-flash-image", "", nil, `null`},
	} {
		got, err := thinkingConfig(tc.model, tc.effort, tc.tc, true)
		if err != nil {
			t.Errorf("%s %s: %v", tc.model, tc.effort, err)
			continue
		}
		b, _ := json.Marshal(got)
		if string(b) != tc.want {
			t.Errorf("%s effort=%q: got %s, want %s", tc.model, tc.effort, b, tc.want)
		}
	}
	if _, err := thinkingConfig("gemini-2.5-flash", "extreme", nil, true); err == nil {
		t.Error("unknown effort accepted")
	}
}
