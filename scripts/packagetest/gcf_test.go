package packagetest

import (
	"archive/zip"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"go/parser"
	"go/token"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/fsouza/fake-gcs-server/fakestorage"
)

const (
	module             = "github.com/geminigateway/gateway"
	ffModule           = "github.com/GoogleCloudPlatform/functions-framework-go"
	ffFunctionsPackage = ffModule + "/functions"
	// What the buildpack calls them (cmd/go/functions_framework/lib/lib.go).
	fnSourceDir = "serverless_function_source_code"
	appModule   = "functions.local/app"

	testKey = "test-key-0123456789"
)

// zipEpoch is the date of every archive entry (scripts/zipdir).
var zipEpoch = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

// declarativeMain is the buildpack's mainTextTemplateDeclarative
// (cmd/go/functions_framework/lib/template_declarative.go), used when the root package imports
// functions-framework-go/functions.
var declarativeMain = template.Must(template.New("main").Parse(`// Binary main file implements an HTTP server that loads and runs user's code
// on incoming HTTP requests.
package main

import (
	"log"
	"net/http"
	"os"

	_ "{{.Package}}"

	"github.com/GoogleCloudPlatform/functions-framework-go/funcframework"
)

func main() {
	http.HandleFunc("/robots.txt", http.NotFound)
	http.HandleFunc("/favicon.ico", http.NotFound)

	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	if err := funcframework.Start(port); err != nil {
		log.Fatalf("Function failed to start: %v\n", err)
	}
}
`))

// TestGCFBuildpack builds the Cloud Functions archive with scripts/package.sh and takes it
// through the steps of Google's Go functions buildpack, then serves every entry point.
func TestGCFBuildpack(t *testing.T) {
	t.Parallel()
	goBin := needGo(t)
	needTool(t, "bash")
	root := repoRoot(t)
	tmp := t.TempDir()

	// 1. The archive, as `make package` builds it.
	dist := filepath.Join(tmp, "dist")
	out := run(t, root, offlineEnv("DIST="+dist), "bash", "scripts/package.sh", "gcf")
	t.Logf("package.sh gcf:\n%s", out)
	archive := filepath.Join(dist, "gcf-source.zip")
	zipBytes, err := os.ReadFile(archive)
	if err != nil {
		t.Fatal(err)
	}
	checkArchive(t, root, zipBytes)

	// 2. Reproducible: the same files, with other timestamps and permissions, zip to the same
	// bytes. (Staging is a function of the tree; comparing two stagings of a checkout that
	// others edit at the same time would be flaky.)
	t.Run("reproducible", func(t *testing.T) {
		t.Parallel()
		dir := filepath.Join(tmp, "rezip")
		unzip(t, zipBytes, dir)
		old := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
		filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				os.Chtimes(p, old, old)
				os.Chmod(p, 0o600)
			}
			return nil
		})
		again := filepath.Join(tmp, "again.zip")
		run(t, root, offlineEnv(), goBin, "run", "./scripts/zipdir", "-o", again, dir)
		b, err := os.ReadFile(again)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, zipBytes) {
			t.Errorf("the same files zipped to different bytes (%d vs %d): the archive is not reproducible", len(b), len(zipBytes))
		}
	})

	// 3. The buildpack. Cloud Build unpacks the archive into the workspace, and the functions
	// buildpack moves everything but .google* into serverless_function_source_code/.
	ws := filepath.Join(tmp, "workspace")
	unzip(t, zipBytes, ws)
	src := filepath.Join(ws, fnSourceDir)
	if err := os.Mkdir(src, 0o755); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(ws)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() == fnSourceDir || strings.HasPrefix(e.Name(), ".google") {
			continue
		}
		if err := os.Rename(filepath.Join(ws, e.Name()), filepath.Join(src, e.Name())); err != nil {
			t.Fatal(err)
		}
	}

	// extractPackageNameInDir: the top-level .go files (test files too) must be one package.
	pkgName, imports := rootPackage(t, src)
	if pkgName == "main" {
		t.Fatal("the archive's root package is main; the buildpack's generated main imports it")
	}
	// createMainGoFile: without this import the v1.1 template needs an exported symbol named
	// like the entry point in the root package, and the build fails.
	if !slices.Contains(imports, ffFunctionsPackage) {
		t.Fatalf("the root package does not import %s, so the buildpack would not use its declarative template; imports: %v", ffFunctionsPackage, imports)
	}

	// Built for this machine so that it can run here; package.sh has compiled the tree for
	// linux/amd64 (the Cloud Functions platform) already.
	env := offlineEnv("GOFLAGS=-mod=mod")
	if w, err := os.OpenFile(filepath.Join(src, "go.mod"), os.O_WRONLY, 0); err != nil {
		t.Fatalf("go.mod must be writable for the buildpack: %v", err)
	} else {
		w.Close()
	}
	// moduleAndPackageNames: the module path must have a dot in its first element; the function
	// package is the module root unless a directory named like the package is at the app root.
	mod := strings.TrimSpace(run(t, src, env, goBin, "list", "-m"))
	if first, _, _ := strings.Cut(mod, "/"); !strings.Contains(first, ".") {
		t.Fatalf("module path %q: the buildpack needs a dot in its first element", mod)
	}
	fnPackage := mod
	if _, err := os.Stat(filepath.Join(ws, pkgName)); err == nil {
		fnPackage = mod + "/" + pkgName
	}
	// frameworkSpecifiedVersion: go.mod pins the framework, so nothing is injected.
	if v := strings.TrimSpace(run(t, src, env, goBin, "list", "-m", "-f", "{{.Version}}", ffModule)); v == "" {
		t.Fatalf("go.mod does not require %s; the buildpack would inject its own version", ffModule)
	} else {
		t.Logf("root package %s (%s), functions-framework-go %s", pkgName, fnPackage, v)
	}
	appDir := filepath.Join(src, appModule)
	if err := os.MkdirAll(appDir, 0o755); err != nil {
		t.Fatal(err)
	}
	var mainGo bytes.Buffer
	if err := declarativeMain.Execute(&mainGo, struct{ Package string }{fnPackage}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(appDir, "main.go"), mainGo.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	// The buildpack runs `go mod tidy` here with the network. Offline, tidy cannot fetch the
	// modules that only tests of dependencies import (it checks those too), so -e: the rest of
	// the tidy still happens and the build below uses the tidied go.mod.
	if out, err := runErr(t, src, env, goBin, "mod", "tidy", "-e"); err != nil {
		t.Fatalf("go mod tidy: %v\n%s", err, out)
	} else if n := strings.Count(out, "module lookup disabled by GOPROXY=off"); n > 0 {
		t.Logf("go mod tidy -e: %d imports of dependencies' tests left unresolved offline (Cloud Build downloads them)", n)
	}
	// The go/build buildpack: go build -o <layer>/bin/main <buildable>, in the source dir.
	bin := filepath.Join(tmp, "bin", "main")
	run(t, src, env, goBin, "build", "-o", bin, appDir)

	// 4. Serve, as Cloud Run does: FUNCTION_TARGET (the entry point) and PORT.
	runEnv := func(target, signature string, extra ...string) []string {
		return serverEnv(append([]string{
			"FUNCTION_TARGET=" + target,
			"FUNCTION_SIGNATURE_TYPE=" + signature,
			"K_SERVICE=gemini-gateway-test",
			"K_REVISION=gemini-gateway-test-00001-abc",
			"K_CONFIGURATION=gemini-gateway-test",
			"GATEWAY_BACKEND=emulator",
			"GATEWAY_API_KEYS=" + testKey,
		}, extra...)...)
	}

	t.Run("Gateway", func(t *testing.T) {
		t.Parallel()
		srv := startServer(t, bin, runEnv("Gateway", "http"))
		checkGateway(t, srv.url)
	})

	t.Run("PubSubJob", func(t *testing.T) {
		t.Parallel()
		gcs := newFakeGCS(t)
		srv := startServer(t, bin, runEnv("PubSubJob", "cloudevent", gcs.env...))
		line := batchLine("pubsub-1", "Say hi")
		data, _ := json.Marshal(map[string]any{
			"message":      map[string]any{"data": base64.StdEncoding.EncodeToString([]byte(line)), "messageId": "1234567890"},
			"subscription": "projects/p/subscriptions/eventarc-sub",
		})
		status, body := postEvent(t, srv.url, "google.cloud.pubsub.topic.v1.messagePublished",
			"//pubsub.googleapis.com/projects/p/topics/gemini-gateway-jobs", "", string(data))
		if status/100 != 2 {
			t.Fatalf("PubSubJob answered %d %s", status, body)
		}
		got := gcs.object(t, "gateway-out", "results/messages/pubsub-1/1234567890.json" /* <output prefix>messages/<custom_id>/<messageId>.json */)
		if !strings.Contains(got, `"custom_id":"pubsub-1"`) || !strings.Contains(got, `chat.completion`) {
			t.Errorf("results/messages/pubsub-1/1234567890.json = %s", got)
		}
	})

	t.Run("StorageJob", func(t *testing.T) {
		t.Parallel()
		gcs := newFakeGCS(t)
		input := batchLine("file-1", "One") + "\n" + batchLine("file-2", "Two") + "\n"
		gcs.srv.CreateObject(fakestorage.Object{
			ObjectAttrs: fakestorage.ObjectAttrs{BucketName: "gateway-in", Name: "requests/job.jsonl", ContentType: "application/jsonl"},
			Content:     []byte(input),
		})
		srv := startServer(t, bin, runEnv("StorageJob", "cloudevent", gcs.env...))
		data, _ := json.Marshal(map[string]any{
			"bucket": "gateway-in", "name": "requests/job.jsonl", "size": strconv.Itoa(len(input)),
			"contentType": "application/jsonl", "generation": "1", "metageneration": "1",
		})
		status, body := postEvent(t, srv.url, "google.cloud.storage.object.v1.finalized",
			"//storage.googleapis.com/projects/_/buckets/gateway-in", "objects/requests/job.jsonl", string(data))
		if status/100 != 2 {
			t.Fatalf("StorageJob answered %d %s", status, body)
		}
		got := gcs.object(t, "gateway-out", "results/job.output.jsonl")
		if strings.Count(got, "\n") != 2 || !strings.Contains(got, `"custom_id":"file-1"`) || !strings.Contains(got, `"custom_id":"file-2"`) {
			t.Errorf("results/job.output.jsonl = %s", got)
		}
	})
}

// checkArchive checks the archive's entries: reproducible headers, go.mod/go.sum as in the
// repository, one generated root file, and none of the files that must stay out.
func checkArchive(t *testing.T, root string, b []byte) {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	var names, rootGo []string
	for _, f := range zr.File {
		names = append(names, f.Name)
		if !f.Modified.Equal(zipEpoch) {
			t.Errorf("%s: modified %v, want the fixed %v", f.Name, f.Modified, zipEpoch)
		}
		mode := f.Mode()
		switch {
		case strings.HasSuffix(f.Name, "/"):
			if !mode.IsDir() || mode.Perm() != 0o755 {
				t.Errorf("%s: mode %v", f.Name, mode)
			}
		case mode.Perm() != 0o644:
			t.Errorf("%s: mode %v, want 0644", f.Name, mode)
		}
		top, _, nested := strings.Cut(f.Name, "/")
		switch {
		case strings.HasSuffix(f.Name, "_test.go"):
			t.Errorf("%s: test files must not be in the archive (the buildpack parses root test files; the rest is dead weight)", f.Name)
		case slices.Contains(strings.Split(f.Name, "/"), "testdata"):
			t.Errorf("%s: testdata must not be in the archive", f.Name)
		case nested && !slices.Contains([]string{"shared", "adapters", "functions"}, top):
			t.Errorf("%s: only shared/, adapters/ and functions/ belong in the archive", f.Name)
		case strings.HasPrefix(f.Name, "functions/") && !strings.HasPrefix(f.Name, "functions/gcf/") && f.Name != "functions/":
			t.Errorf("%s: only functions/gcf of functions/ is needed", f.Name)
		case !nested && strings.HasSuffix(f.Name, ".go"):
			rootGo = append(rootGo, f.Name)
		case !nested && f.Name != "go.mod" && f.Name != "go.sum":
			t.Errorf("%s: unexpected file at the archive root", f.Name)
		}
		if f.Name == "go.mod" || f.Name == "go.sum" {
			want, err := os.ReadFile(filepath.Join(root, f.Name))
			if err != nil {
				t.Fatal(err)
			}
			if got := readZipFile(t, f); got != string(want) {
				t.Errorf("%s in the archive differs from the repository's", f.Name)
			}
		}
	}
	if !slices.IsSorted(names) {
		t.Errorf("archive entries are not sorted: %v", names)
	}
	for _, want := range []string{"go.mod", "go.sum", "functions/gcf/gcf.go"} {
		if !slices.Contains(names, want) {
			t.Errorf("archive lacks %s", want)
		}
	}
	if len(rootGo) != 1 {
		t.Errorf("root .go files = %v, want exactly the generated one", rootGo)
	}
	t.Logf("archive: %d entries, %d bytes", len(names), len(b))
}

func readZipFile(t *testing.T, f *zip.File) string {
	t.Helper()
	rc, err := f.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// unzip extracts the archive into dir as Cloud Build's fetcher does: files keep their modes.
func unzip(t *testing.T, b []byte, dir string) {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range zr.File {
		name := path.Clean(f.Name)
		if !filepath.IsLocal(name) {
			t.Fatalf("archive entry %q escapes the directory", f.Name)
		}
		p := filepath.Join(dir, filepath.FromSlash(name))
		if f.Mode().IsDir() {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(readZipFile(t, f)), f.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
}

// rootPackage does what the buildpack's get_package converter does: parse the imports of every
// .go file directly in dir (test files included) and require exactly one package.
func rootPackage(t *testing.T, dir string) (string, []string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("unable to find Go package in %s (no .go files at the archive root)", dir)
	}
	fset := token.NewFileSet()
	name := ""
	var imports []string
	for _, file := range files {
		f, err := parser.ParseFile(fset, file, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		if name != "" && f.Name.Name != name {
			t.Fatalf("multiple packages in user code directory: %s != %s", f.Name.Name, name)
		}
		name = f.Name.Name
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			imports = append(imports, p)
		}
	}
	return name, imports
}

// checkGateway checks the HTTP gateway: health, a chat and a stream through the emulator.
func checkGateway(t *testing.T, url string) {
	t.Helper()
	status, _, body := call(t, "GET", url+"/healthz", nil, "")
	if status != 200 || !strings.Contains(body, `"status":"ok"`) {
		t.Fatalf("GET /healthz = %d %s", status, body)
	}
	auth := map[string]string{"Authorization": "Bearer " + testKey, "Content-Type": "application/json"}
	status, _, body = call(t, "POST", url+"/v1/chat/completions", auth,
		`{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"Hello from the buildpack test"}]}`)
	if status != 200 || !strings.Contains(body, `"object":"chat.completion"`) || !strings.Contains(body, `"choices":[{`) {
		t.Errorf("chat = %d %s", status, body)
	}
	status, h, body := call(t, "POST", url+"/v1/chat/completions", auth,
		`{"model":"gemini-2.5-flash","stream":true,"messages":[{"role":"user","content":"Stream please"}]}`)
	if status != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/event-stream") ||
		!strings.Contains(body, "chat.completion.chunk") || !strings.HasSuffix(strings.TrimSpace(body), "data: [DONE]") {
		t.Errorf("stream = %d %s %s", status, h.Get("Content-Type"), body)
	}
	status, _, body = call(t, "GET", url+"/v1/models", map[string]string{"Authorization": "Bearer wrong-key-000000000000"}, "")
	if status != 401 || !strings.Contains(body, `"invalid_token"`) {
		t.Errorf("bad key = %d %s", status, body)
	}
}

// batchLine is one OpenAI Batch input line.
func batchLine(id, prompt string) string {
	b, _ := json.Marshal(map[string]any{
		"custom_id": id, "method": "POST", "url": "/v1/chat/completions",
		"body": map[string]any{"model": "gemini-2.5-flash", "messages": []any{map[string]any{"role": "user", "content": prompt}}},
	})
	return string(b)
}

// postEvent delivers a CloudEvent in binary content mode, as Eventarc does.
func postEvent(t *testing.T, url, typ, source, subject, data string) (int, string) {
	t.Helper()
	h := map[string]string{
		"Content-Type":   "application/json",
		"ce-specversion": "1.0",
		"ce-id":          "event-" + strconv.FormatInt(time.Now().UnixNano(), 10),
		"ce-type":        typ,
		"ce-source":      source,
		"ce-time":        time.Now().UTC().Format(time.RFC3339Nano),
	}
	if subject != "" {
		h["ce-subject"] = subject
	}
	status, _, body := call(t, "POST", url+"/", h, data)
	return status, body
}

// fakeGCS is an in-process fake Cloud Storage on loopback, with the input and output buckets,
// and the environment that points a function's storage client and batch settings at it.
type fakeGCS struct {
	srv *fakestorage.Server
	env []string
}

func newFakeGCS(t *testing.T) *fakeGCS {
	t.Helper()
	srv, err := fakestorage.NewServerWithOptions(fakestorage.Options{Scheme: "http", Host: "127.0.0.1", Port: 0, PublicHost: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	srv.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: "gateway-in"})
	srv.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: "gateway-out"})
	return &fakeGCS{srv: srv, env: []string{
		"STORAGE_EMULATOR_HOST=" + srv.URL(),
		"GATEWAY_OUTPUT_BUCKET=gateway-out",
		"GATEWAY_OUTPUT_PREFIX=results/",
		"GATEWAY_INPUT_PREFIX=requests/",
	}}
}

// object returns an object's content, failing the test (with the bucket's listing) if it is
// missing.
func (g *fakeGCS) object(t *testing.T, bucket, name string) string {
	t.Helper()
	obj, err := g.srv.GetObject(bucket, name)
	if err != nil {
		list, _ := g.srv.ListObjectsWithOptionsPaginated(bucket, fakestorage.ListOptions{})
		var have []string
		for _, o := range list.Objects {
			have = append(have, o.Name)
		}
		t.Fatalf("gs://%s/%s: %v (the bucket holds %v)", bucket, name, err, have)
	}
	return string(obj.Content)
}
