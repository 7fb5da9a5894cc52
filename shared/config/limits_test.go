package config

import (
	"strings"
	"testing"
)

// TestRequestLimits pins the defaults of GATEWAY_MAX_MESSAGES and GATEWAY_MAX_PARTS, an
// override, and one line naming the setting for a bad value.
func TestRequestLimits(t *testing.T) {
	c, err := Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.MaxMessages != 10000 || c.MaxParts != 50000 {
		t.Errorf("defaults: messages %d, parts %d", c.MaxMessages, c.MaxParts)
	}
	if c, err = Load(env(map[string]string{"GATEWAY_MAX_MESSAGES": "20", "GATEWAY_MAX_PARTS": "30"})); err != nil || c.MaxMessages != 20 || c.MaxParts != 30 {
		t.Errorf("override: %+v, %v", c, err)
	}
	for _, k := range []string{"GATEWAY_MAX_MESSAGES", "GATEWAY_MAX_PARTS"} {
		for _, v := range []string{"0", "-3", "many"} {
			if _, err := Load(env(map[string]string{k: v})); err == nil || !strings.Contains(err.Error(), k) {
				t.Errorf("%s=%s: err = %v", k, v, err)
			}
		}
	}
}
