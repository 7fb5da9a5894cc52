// Package shared_test holds checks over the whole core.
package shared_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencyDirection pins DESIGN §1: nothing in shared imports an adapter, a function
// package, or a platform SDK (functions-framework, aws-lambda-go, the storage/queue SDKs).
func TestDependencyDirection(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-test=false", "./...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	forbidden := []string{
		"github.com/geminigateway/gateway/adapters",
		"github.com/geminigateway/gateway/functions",
		"github.com/GoogleCloudPlatform/functions-framework-go",
		"github.com/aws/aws-lambda-go",
		"github.com/aws/aws-sdk-go-v2",
		"cloud.google.com/go/storage",
		"cloud.google.com/go/pubsub",
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, f := range forbidden {
			if strings.HasPrefix(dep, f) {
				t.Errorf("shared depends on %s", dep)
			}
		}
	}
}
