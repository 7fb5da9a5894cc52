package packagetest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// fakeTerraform logs its arguments, one call per line, and answers `output -raw NAME`.
const fakeTerraform = `#!/usr/bin/env bash
echo "$*" >>"$FAKE_TF_LOG"
case "$*" in
*"output -raw url") echo -n "https://gw.example.test" ;;
*"output -raw keys_secret_version_name") echo -n "projects/p/secrets/gw-client-keys/versions/latest" ;;
esac
`

// TestDeployScript runs scripts/deploy.sh in a scratch copy of the layout it expects, with a
// fake terraform: the commands it runs, and its refusal without terraform.tfvars.
func TestDeployScript(t *testing.T) {
	t.Parallel()
	needTool(t, "bash")
	root := repoRoot(t)
	work := t.TempDir()
	script, err := os.ReadFile(filepath.Join(root, "scripts", "deploy.sh"))
	if err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{
		"go.mod":                                  "module example.test/x\n",
		"scripts/deploy.sh":                       string(script),
		"dist/gcf-source.zip":                     "zip",
		"terraform/examples/gcp/main.tf":          "",
		"terraform/examples/aws/main.tf":          "",
		"terraform/examples/gcp/terraform.tfvars": "project_id = \"p\"\n",
		"fake/terraform":                          fakeTerraform,
		"scripts/package.sh":                      "echo \"package.sh $*\" >>\"$FAKE_TF_LOG\"\n",
	} {
		p := filepath.Join(work, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	log := filepath.Join(work, "tf.log")
	env := offlineEnv("TERRAFORM="+filepath.Join(work, "fake", "terraform"), "FAKE_TF_LOG="+log)

	out := run(t, work, env, "bash", "scripts/deploy.sh", "gcp", "apply", "-auto-approve")
	calls, _ := os.ReadFile(log)
	want := "package.sh gcf\n" +
		"-chdir=terraform/examples/gcp init -input=false\n" +
		"-chdir=terraform/examples/gcp apply -var-file=terraform.tfvars -auto-approve\n" +
		"-chdir=terraform/examples/gcp output -raw url\n" +
		"-chdir=terraform/examples/gcp output -raw keys_secret_version_name\n"
	if string(calls) != want {
		t.Errorf("terraform calls:\n%s\nwant:\n%s", calls, want)
	}
	for _, s := range []string{
		"make key NAME=my-app SECRET=projects/p/secrets/gw-client-keys/versions/latest",
		"make smoke URL=https://gw.example.test KEY=",
		`base_url = "https://gw.example.test/v1"`,
	} {
		if !strings.Contains(out, s) {
			t.Errorf("deploy.sh output lacks %q:\n%s", s, out)
		}
	}

	// aws has no terraform.tfvars here: a clear message, and terraform is never run.
	os.Remove(log)
	out, err = runErr(t, work, env, "bash", "scripts/deploy.sh", "aws", "apply")
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Errorf("deploy.sh aws apply without terraform.tfvars: %v, want exit 1", err)
	}
	if !strings.Contains(out, "terraform/examples/aws/terraform.tfvars is missing") ||
		!strings.Contains(out, "cp terraform/examples/aws/terraform.tfvars.example terraform/examples/aws/terraform.tfvars") {
		t.Errorf("deploy.sh without terraform.tfvars says:\n%s", out)
	}
	if _, err := os.Stat(log); err == nil {
		t.Error("package.sh or terraform ran although terraform.tfvars is missing")
	}

	// destroy does not rebuild an archive that is there.
	run(t, work, env, "bash", "scripts/deploy.sh", "gcp", "destroy")
	calls, _ = os.ReadFile(log)
	if want := "-chdir=terraform/examples/gcp init -input=false\n-chdir=terraform/examples/gcp destroy -var-file=terraform.tfvars\n"; string(calls) != want {
		t.Errorf("destroy: terraform calls:\n%s\nwant:\n%s", calls, want)
	}

	if _, err := runErr(t, work, env, "bash", "scripts/deploy.sh", "azure", "apply"); err == nil {
		t.Error("deploy.sh azure apply succeeded")
	}
}
