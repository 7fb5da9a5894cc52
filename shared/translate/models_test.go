package translate

import (
	"reflect"
	"testing"
)

// FuzzResolveMatchesReference holds Models.resolve, which answers known models from a table
// built once, to the reference Resolve (alias table, then any valid gemini-* id) and the caps
// of the id to capsOf: the same id, capabilities and error for any name.
func FuzzResolveMatchesReference(f *testing.F) {
	models := fuzzModels(f)
	for _, name := range models.List() {
		f.Add(name)
		f.Add("google/" + name)
		f.Add("models/" + name)
	}
	for _, name := range []string{"", "gemini-", "gemini-9-pro-latest", "gemini-3..1", "gpt-4o", "google/models/gemini-2.5-flash", "gemini-2.5-flash "} {
		f.Add(name)
	}
	f.Fuzz(func(t *testing.T, name string) {
		got, gerr := models.resolve(name)
		want, werr := refResolve(models, name)
		if (gerr == nil) != (werr == nil) || gerr != nil && gerr.Error() != werr.Error() {
			t.Fatalf("resolve(%q) error = %v, reference %v", name, gerr, werr)
		}
		if got.id != want {
			t.Fatalf("resolve(%q) = %q, reference %q", name, got.id, want)
		}
		if gerr == nil && !reflect.DeepEqual(got.caps, capsOf(want)) {
			t.Fatalf("resolve(%q) caps = %+v, capsOf = %+v", name, got.caps, capsOf(want))
		}
	})
}
