package lambda

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestDependencies pins that the adapter stays thin: of the core it imports only the error
// writer (shared/gateway), the job policy (shared/batch) and the error type (shared/openai), and
// nothing of it depends on Google platform code (functions-framework, CloudEvents, the storage and queue SDKs).
func TestDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{join .Imports "\n"}}`, ".").Output()
	if err != nil {
		t.Fatal(err)
	}
	allowed := []string{"gateway", "batch", "openai"}
	for _, p := range strings.Fields(string(out)) {
		if core, ok := strings.CutPrefix(p, "github.com/geminigateway/gateway/shared/"); ok && !slices.Contains(allowed, core) {
			t.Errorf("adapters/lambda imports %s", p)
		}
	}
	out, err = exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", ".").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range strings.Fields(string(out)) {
		for _, banned := range []string{"github.com/GoogleCloudPlatform/", "github.com/cloudevents/", "cloud.google.com/go/storage", "cloud.google.com/go/pubsub"} {
			if strings.HasPrefix(p, banned) {
				t.Errorf("adapters/lambda depends on %s", p)
			}
		}
	}
}
