package config

import (
	"strings"
	"testing"
)

// TestEmbedConcurrency pins GATEWAY_EMBED_CONCURRENCY: 8 by default, set by the variable, and
// one line naming it when it is not a positive integer.
func TestEmbedConcurrency(t *testing.T) {
	if c, err := Load(env(nil)); err != nil || c.EmbedConcurrency != 8 {
		t.Errorf("default: %d, %v", c.EmbedConcurrency, err)
	}
	if c, err := Load(env(map[string]string{"GATEWAY_EMBED_CONCURRENCY": "32"})); err != nil || c.EmbedConcurrency != 32 {
		t.Errorf("32: %d, %v", c.EmbedConcurrency, err)
	}
	for _, v := range []string{"0", "-1", "many"} {
		if _, err := Load(env(map[string]string{"GATEWAY_EMBED_CONCURRENCY": v})); err == nil || !strings.Contains(err.Error(), "GATEWAY_EMBED_CONCURRENCY") {
			t.Errorf("%q: err = %v", v, err)
		}
	}
}
