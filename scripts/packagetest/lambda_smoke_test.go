package packagetest

import (
	"archive/zip"
	"bytes"
	"debug/buildinfo"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestLambdaPackage builds dist/lambda.zip with scripts/package.sh and checks what Lambda's
// provided.al2023 runtime on arm64 needs: one executable named bootstrap at the root, a static
// linux/arm64 ELF, built with the flags package.sh promises. (Running it takes a Runtime API;
// adapters/lambda tests the binary's behaviour against a fake one.)
func TestLambdaPackage(t *testing.T) {
	t.Parallel()
	needGo(t)
	needTool(t, "bash")
	root := repoRoot(t)
	dist := t.TempDir()
	out := run(t, root, offlineEnv("DIST="+dist), "bash", "scripts/package.sh", "lambda")
	t.Logf("package.sh lambda:\n%s", out)

	b, err := os.ReadFile(filepath.Join(dist, "lambda.zip"))
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	if len(zr.File) != 1 || zr.File[0].Name != "bootstrap" {
		var names []string
		for _, f := range zr.File {
			names = append(names, f.Name)
		}
		t.Fatalf("lambda.zip holds %v, want exactly [bootstrap]", names)
	}
	f := zr.File[0]
	if f.Mode().Perm() != 0o755 || !f.Mode().IsRegular() {
		t.Errorf("bootstrap mode %v, want -rwxr-xr-x", f.Mode())
	}
	if !f.Modified.Equal(zipEpoch) {
		t.Errorf("bootstrap: modified %v, want the fixed %v", f.Modified, zipEpoch)
	}
	bin := filepath.Join(t.TempDir(), "bootstrap")
	if err := os.WriteFile(bin, []byte(readZipFile(t, f)), 0o755); err != nil {
		t.Fatal(err)
	}

	ef, err := elf.Open(bin)
	if err != nil {
		t.Fatalf("bootstrap is not an ELF executable: %v", err)
	}
	defer ef.Close()
	if ef.Machine != elf.EM_AARCH64 {
		t.Errorf("bootstrap is for %v, want EM_AARCH64 (the function's architecture is arm64)", ef.Machine)
	}
	for _, p := range ef.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("bootstrap is dynamically linked; it must be static (CGO_ENABLED=0) to run whatever the runtime's glibc")
		}
	}
	if ef.Section(".symtab") != nil {
		t.Error("bootstrap has a symbol table; package.sh builds with -ldflags '-s -w'")
	}

	info, err := buildinfo.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if info.Path != module+"/functions/lambda" {
		t.Errorf("bootstrap main package %q, want %s/functions/lambda", info.Path, module)
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
		if strings.HasPrefix(s.Key, "vcs") {
			t.Errorf("bootstrap carries %s=%s: VCS stamping makes the zip change with every commit (-buildvcs=false)", s.Key, s.Value)
		}
	}
	for k, want := range map[string]string{
		"GOOS": "linux", "GOARCH": "arm64", "CGO_ENABLED": "0",
		"-tags": "lambda.norpc", "-trimpath": "true", // -ldflags is not recorded with -trimpath; .symtab is checked above
	} {
		if settings[k] != want {
			t.Errorf("bootstrap build setting %s = %q, want %q", k, settings[k], want)
		}
	}
	t.Logf("lambda.zip %d bytes; bootstrap %d bytes, %s", len(b), f.UncompressedSize64, info.GoVersion)
}

// TestSmoke runs scripts/smoke.sh against the server `make run` starts (functions/local), with
// the offline emulator, and checks that it passes with the right key and fails with a wrong one.
func TestSmoke(t *testing.T) {
	t.Parallel()
	goBin := needGo(t)
	needTool(t, "bash")
	needTool(t, "curl")
	root := repoRoot(t)
	bin := filepath.Join(t.TempDir(), "local")
	run(t, root, offlineEnv(), goBin, "build", "-o", bin, "./functions/local")
	const key = "smoke-key-123456"
	srv := startServer(t, bin, serverEnv("GATEWAY_LOCAL=1", "GATEWAY_BACKEND=emulator", "GATEWAY_API_KEYS="+key))

	smoke := func(args ...string) (string, int) {
		t.Helper()
		out, err := runErr(t, root, offlineEnv("SMOKE_TIMEOUT=30"), "bash", append([]string{"scripts/smoke.sh"}, args...)...)
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return out, code
	}

	// A trailing slash, as the Lambda function URL output has.
	out, code := smoke(srv.url+"/", key)
	if code != 0 || !strings.Contains(out, "all 5 checks passed") {
		t.Fatalf("smoke.sh with the right key: exit %d\n%s", code, out)
	}
	for _, want := range []string{"ok    GET /healthz", "ok    GET /v1/models", "ok    POST /v1/chat/completions", "data: [DONE]", "401 invalid_token"} {
		if !strings.Contains(out, want) {
			t.Errorf("smoke.sh output lacks %q:\n%s", want, out)
		}
	}

	out, code = smoke(srv.url, "smoke-wrong-key-0000")
	if code != 1 || !strings.Contains(out, "FAIL  GET /v1/models") || !strings.Contains(out, "FAIL  POST /v1/chat/completions") {
		t.Errorf("smoke.sh with a wrong key: exit %d, want 1 with FAIL lines\n%s", code, out)
	}
	if !strings.Contains(out, "ok    GET /healthz") {
		t.Errorf("smoke.sh with a wrong key: /healthz needs no key and should pass\n%s", out)
	}

	if _, code := smoke(); code != 2 {
		t.Errorf("smoke.sh without arguments: exit %d, want 2 (usage)", code)
	}
}
