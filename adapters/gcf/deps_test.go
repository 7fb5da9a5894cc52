package gcf

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencies pins that the adapter stays thin: no gateway core (it sees only http.Handler
// and its Jobs interface) and no AWS code.
func TestDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", ".").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range strings.Fields(string(out)) {
		for _, banned := range []string{"github.com/geminigateway/gateway/shared/", "github.com/aws/"} {
			if strings.HasPrefix(p, banned) {
				t.Errorf("adapters/gcf depends on %s", p)
			}
		}
	}
}
