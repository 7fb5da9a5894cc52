// Package shared_test holds checks over the whole core: the direction and layering of its
// dependencies, and that the module's recorded samples are all read by tests.
package shared_test

import (
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/geminigateway/gateway"

// pkg is the part of `go list -json` these checks read.
type pkg struct {
	ImportPath   string
	Dir          string
	Name         string
	GoFiles      []string
	TestGoFiles  []string
	XTestGoFiles []string
	Deps         []string // every package it depends on, directly or not, without tests
}

// listPackages runs go list -json over the patterns.
func listPackages(t *testing.T, patterns ...string) []pkg {
	t.Helper()
	args := append([]string{"list", "-json=ImportPath,Dir,Name,GoFiles,TestGoFiles,XTestGoFiles,Deps", "-test=false"}, patterns...)
	out, err := exec.Command("go", args...).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("go list: %v\n%s", err, stderr)
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) == 0 {
		t.Fatal("go list found no packages")
	}
	return pkgs
}

// within reports whether import path p is q or a package below it.
func within(p, q string) bool { return p == q || strings.HasPrefix(p, q+"/") }

// TestDependencyDirection pins DESIGN §1: nothing in shared imports an adapter, a function
// package, or a platform SDK (functions-framework, aws-lambda-go, the storage/queue SDKs).
func TestDependencyDirection(t *testing.T) {
	forbidden := []string{
		module + "/adapters",
		module + "/functions",
		"github.com/GoogleCloudPlatform/functions-framework-go",
		"github.com/aws/aws-lambda-go",
		"github.com/aws/aws-sdk-go-v2",
		"cloud.google.com/go/storage",
		"cloud.google.com/go/pubsub",
	}
	for _, p := range listPackages(t, "./...") {
		for _, dep := range p.Deps {
			for _, f := range forbidden {
				if strings.HasPrefix(dep, f) {
					t.Errorf("%s depends on %s", p.ImportPath, dep)
				}
			}
		}
	}
}

// layers are the core's layering rules: the package (and the packages below it) must not
// depend, directly or through another package, on any of mustNot.
var layers = []struct {
	pkg     string
	mustNot []string
	why     string
}{
	{"shared/openai", []string{"shared/gemini", "shared/translate", "shared/gateway", "shared/app"},
		"the OpenAI wire types know nothing of Gemini or of serving"},
	{"shared/gemini", []string{"shared/openai", "shared/translate", "shared/gateway", "shared/app"},
		"the Gemini wire types and client know nothing of OpenAI or of serving"},
	{"shared/translate", []string{"shared/gateway", "shared/app", "shared/keys", "shared/batch", "shared/config", "shared/emulator", "shared/googleauth"},
		"translation is pure: no handler, client keys, jobs, configuration, emulator or credentials"},
	{"shared/jsonschema", []string{"shared/gateway", "shared/translate", "shared/app", "net/http"},
		"schema rewriting is pure and below the handler"},
	{"shared/media", []string{"shared/gateway", "shared/translate", "shared/app"},
		"media fetching is a library below the handler"},
	{"shared/keys", []string{"shared/gateway", "shared/translate", "shared/app"},
		"client keys are a library below the handler"},
	{"shared/gateway", []string{"shared/app", "shared/config", "shared/emulator"},
		"the handler is given its parts built; configuration and the emulator are wired in by app"},
}

// TestLayering pins the layering inside the core (see layers), that only app wires in the
// offline emulator, and that test helpers (packages named …test) stay out of production code.
func TestLayering(t *testing.T) {
	pkgs := listPackages(t, module+"/...")
	for _, l := range layers {
		found := false
		for _, p := range pkgs {
			if !within(p.ImportPath, module+"/"+l.pkg) {
				continue
			}
			found = true
			for _, f := range l.mustNot {
				if strings.HasPrefix(f, "shared/") {
					f = module + "/" + f
				}
				if i := slices.IndexFunc(p.Deps, func(dep string) bool { return within(dep, f) }); i >= 0 {
					t.Errorf("%s depends on %s: %s", p.ImportPath, p.Deps[i], l.why)
				}
			}
		}
		if !found {
			t.Errorf("layering rule for %s: no such package", l.pkg)
		}
	}
	for _, p := range pkgs {
		if !within(p.ImportPath, module+"/shared") || within(p.ImportPath, module+"/shared/app") || within(p.ImportPath, module+"/shared/emulator") {
			continue
		}
		if slices.Contains(p.Deps, module+"/shared/emulator") {
			t.Errorf("%s depends on the emulator, which only shared/app wires in", p.ImportPath)
		}
	}
	for _, p := range pkgs {
		if !strings.HasSuffix(p.Name, "test") && slices.Contains(p.Deps, "testing") {
			t.Errorf("%s depends on package testing: a test helper leaked into production code", p.ImportPath)
		}
	}
}

// TestTranslateServesNothing pins that translate uses net/http for its status constants only:
// no handler, request, response writer or client, so translation stays pure.
func TestTranslateServesNothing(t *testing.T) {
	p := listPackages(t, module+"/shared/translate")[0]
	fset := token.NewFileSet()
	for _, name := range p.GoFiles {
		f, err := parser.ParseFile(fset, filepath.Join(p.Dir, name), nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		local := ""
		for _, imp := range f.Imports {
			if path, _ := strconv.Unquote(imp.Path.Value); path == "net/http" {
				local = "http"
				if imp.Name != nil {
					local = imp.Name.Name
				}
			} else if within(path, "net/http") {
				t.Errorf("%s imports %s", name, path)
			}
		}
		if local == "" {
			continue
		}
		ast.Inspect(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if id, ok := sel.X.(*ast.Ident); ok && id.Name == local && !strings.HasPrefix(sel.Sel.Name, "Status") {
				t.Errorf("%s: translate uses http.%s; only the Status constants belong here", fset.Position(sel.Pos()), sel.Sel.Name)
			}
			return true
		})
	}
}

// TestRecordedSamplesAreRead pins that every recorded sample is used: each file directly in a
// testdata folder that has a SOURCES.md (the folders holding copies of real traffic and events)
// has a row in that SOURCES.md and is named in a string literal of a _test.go file of the
// package that owns the folder, or, by its relative path, of a test file in another package.
// Every testdata/wire folder must have a SOURCES.md, so wire samples cannot slip past.
func TestRecordedSamplesAreRead(t *testing.T) {
	pkgs := listPackages(t, module+"/...")
	// literals[dir] holds the string literals of the test files in dir.
	literals := map[string][]string{}
	fset := token.NewFileSet()
	root := ""
	for _, p := range pkgs {
		if p.ImportPath == module+"/shared" {
			root = filepath.Dir(p.Dir)
		}
		for _, name := range slices.Concat(p.TestGoFiles, p.XTestGoFiles) {
			f, err := parser.ParseFile(fset, filepath.Join(p.Dir, name), nil, parser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(f, func(n ast.Node) bool {
				if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
					if s, err := strconv.Unquote(lit.Value); err == nil && s != "" {
						literals[p.Dir] = append(literals[p.Dir], s)
					}
				}
				return true
			})
		}
	}
	if root == "" {
		t.Fatal("module root not found")
	}
	numbered := regexp.MustCompile(`^(\d+[a-z]?)-`)
	folders := 0
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "bin" || name == "node_modules") {
			return filepath.SkipDir
		}
		rel, _ := filepath.Rel(root, path)
		owner, _, inTestdata := strings.Cut(filepath.ToSlash(rel)+"/", "/testdata/")
		if !inTestdata {
			return nil
		}
		sources, err := os.ReadFile(filepath.Join(path, "SOURCES.md"))
		if os.IsNotExist(err) {
			if d.Name() == "wire" {
				t.Errorf("%s: a wire folder without SOURCES.md", rel)
			}
			return nil
		} else if err != nil {
			return err
		}
		folders++
		entries, err := os.ReadDir(path)
		if err != nil {
			return err
		}
		for _, e := range entries {
			name := e.Name()
			if e.IsDir() || name == "SOURCES.md" {
				continue
			}
			row := bytes.Contains(sources, []byte(name))
			if m := numbered.FindStringSubmatch(name); !row && m != nil {
				row = regexp.MustCompile(`(?m)(^|\s)` + m[1] + `:`).Match(sources)
			}
			if !row {
				t.Errorf("%s/%s has no row in its SOURCES.md", rel, name)
			}
			if !readByTest(literals, filepath.Join(root, owner), filepath.Join(path, name)) {
				t.Errorf("%s/%s is read by no test", rel, name)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if folders == 0 {
		t.Fatal("no testdata folder with a SOURCES.md found")
	}
}

// readByTest reports whether a test file names file: by its base name in the package at
// ownerDir, or by its path relative to the test file's directory anywhere else.
func readByTest(literals map[string][]string, ownerDir, file string) bool {
	for dir, lits := range literals {
		want := filepath.Base(file)
		if dir != ownerDir {
			rel, err := filepath.Rel(dir, file)
			if err != nil {
				continue
			}
			want = filepath.ToSlash(rel)
		}
		for _, s := range lits {
			if strings.Contains(s, want) {
				return true
			}
		}
	}
	return false
}
