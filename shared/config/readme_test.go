package config

import (
	"go/ast"
	goparser "go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// repoRoot is the module root, two levels up from this package.
const repoRoot = "../.."

// readSettings returns every name Load reads, recorded through its getenv over environments
// that take each branch (the backend defaults, each backend set explicitly).
func readSettings(t *testing.T) []string {
	t.Helper()
	seen := map[string]bool{}
	for _, m := range []map[string]string{
		nil,
		{"GATEWAY_BACKEND": "vertex", "GOOGLE_CLOUD_PROJECT": "p"},
		{"GATEWAY_BACKEND": "gemini", "GEMINI_API_KEY": "k"},
		{"GATEWAY_BACKEND": "emulator"},
	} {
		_, _ = Load(func(k string) string {
			seen[k] = true
			return m[k]
		})
	}
	var names []string
	for k := range seen {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

// settingName is a variable name in a table cell: `GATEWAY_…`, `GOOGLE_…`, `PORT`.
var settingName = regexp.MustCompile("`([A-Z][A-Z0-9_]*)`")

// readmeSettings returns the names in the first column of README.md's "## Settings" table.
func readmeSettings(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n## Settings\n")
	if !ok {
		t.Fatal("README.md has no ## Settings section")
	}
	if i := strings.Index(section, "\n## "); i >= 0 {
		section = section[:i]
	}
	var names []string
	for line := range strings.Lines(section) {
		cells := strings.Split(line, "|")
		if !strings.HasPrefix(line, "|") || len(cells) < 3 {
			continue
		}
		for _, m := range settingName.FindAllStringSubmatch(cells[1], -1) {
			names = append(names, m[1])
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// TestReadmeSettingsTable pins that README.md's settings table names exactly the settings the
// code reads: a setting added to Load needs its row, and a row needs a setting behind it.
func TestReadmeSettingsTable(t *testing.T) {
	code, readme := readSettings(t), readmeSettings(t)
	if len(readme) == 0 {
		t.Fatal("no settings found in README.md's table")
	}
	for _, n := range code {
		if !slices.Contains(readme, n) {
			t.Errorf("%s is read by config.Load but missing from README.md's settings table", n)
		}
	}
	for _, n := range readme {
		if !slices.Contains(code, n) {
			t.Errorf("README.md's settings table names %s, which config.Load does not read", n)
		}
	}
}

// TestNoGetenvOutsideConfig pins that the environment is read in one place: no package but
// this one and the mains (which pass os.Getenv to Load, and read what the platform itself
// sets) calls os.Getenv or os.LookupEnv. Test files are exempt.
func TestNoGetenvOutsideConfig(t *testing.T) {
	self, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	checked := 0
	err = filepath.WalkDir(repoRoot, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", "bin", "dist", "testdata", "node_modules", ".terraform":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		if abs, _ := filepath.Abs(filepath.Dir(path)); abs == self {
			return nil
		}
		f, err := goparser.ParseFile(fset, path, nil, goparser.SkipObjectResolution)
		if err != nil {
			return err
		}
		checked++
		if f.Name.Name == "main" {
			return nil
		}
		ast.Inspect(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if x, ok := sel.X.(*ast.Ident); ok && x.Name == "os" && (sel.Sel.Name == "Getenv" || sel.Sel.Name == "LookupEnv") {
				t.Errorf("%s: os.%s outside shared/config and the mains", fset.Position(sel.Pos()), sel.Sel.Name)
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 50 {
		t.Errorf("checked only %d files: is %s the module root?", checked, repoRoot)
	}
}
