package keys

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const hashA = "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae" // sha256("foo")

// TestParseDocument pins what a key document may hold and that every rejection names the entry
// without echoing its hash.
func TestParseDocument(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      string
		wantErr string
	}{
		{name: "empty set", in: `{"keys":[]}`},
		{name: "full entry", in: `{"keys":[{"name":"a","sha256":"` + hashA + `","models":["gemini-3.1-pro"],"rpm":60,"disabled":true}]}`},
		{name: "upper-case hex", in: `{"keys":[{"name":"a","sha256":"` + strings.ToUpper(hashA) + `"}]}`},
		{name: "unknown field", in: `{"keys":[{"name":"a","sha256":"` + hashA + `","rpn":5}]}`, wantErr: `unknown field "rpn"`},
		{name: "short hash", in: `{"keys":[{"name":"a","sha256":"abcd"}]}`, wantErr: `keys[0] ("a"): sha256 must be 64 hex digits`},
		{name: "not hex", in: `{"keys":[{"name":"a","sha256":"` + strings.Repeat("zz", 32) + `"}]}`, wantErr: "sha256 must be 64 hex digits"},
		{name: "no name", in: `{"keys":[{"sha256":"` + hashA + `"}]}`, wantErr: "keys[0]: name is empty"},
		{name: "duplicate name", in: `{"keys":[{"name":"a","sha256":"` + hashA + `"},{"name":"a","sha256":"` + strings.Repeat("0", 64) + `"}]}`, wantErr: `keys[1] ("a"): name is used twice`},
		{name: "duplicate hash", in: `{"keys":[{"name":"a","sha256":"` + hashA + `"},{"name":"b","sha256":"` + strings.ToUpper(hashA) + `"}]}`, wantErr: `keys[1] ("b"): same sha256 as "a"`},
		{name: "negative rpm", in: `{"keys":[{"name":"a","sha256":"` + hashA + `","rpm":-1}]}`, wantErr: "rpm is negative"},
		{name: "empty model", in: `{"keys":[{"name":"a","sha256":"` + hashA + `","models":[""]}]}`, wantErr: "empty model name"},
		{name: "trailing data", in: `{"keys":[]} {}`, wantErr: "trailing data"},
		{name: "not json", in: `keys: []`, wantErr: "key document: invalid character"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseDocument([]byte(tc.in))
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("ParseDocument: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("ParseDocument error = %v, want %q", err, tc.wantErr)
			}
			if strings.Contains(strings.ToLower(err.Error()), hashA[:12]) {
				t.Errorf("error echoes the hash: %v", err)
			}
		})
	}
}

// TestDocumentRoundTrip pins that Marshal writes what ParseDocument reads and that Set keeps
// every field.
func TestDocumentRoundTrip(t *testing.T) {
	d := &Document{Keys: []Entry{
		{Name: "a", SHA256: HashKey("gk-aaaaaaaa"), Models: []string{"gemini-3.1-pro"}, RPM: 60},
		{Name: "b", SHA256: HashKey("gk-bbbbbbbb"), Disabled: true},
	}}
	b, err := d.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseDocument(b)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(d, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	set, err := got.Set()
	if err != nil {
		t.Fatal(err)
	}
	st := NewStore(set)
	k, ok := st.Lookup("gk-aaaaaaaa")
	if !ok || k.Name != "a" || k.RPM != 60 || !k.AllowsModel("gemini-3.1-pro") || k.AllowsModel("gemini-2.5-flash") {
		t.Errorf("Lookup(a) = %+v, %v", k, ok)
	}
	if _, ok := st.Lookup("gk-bbbbbbbb"); ok {
		t.Error("disabled key b authenticated")
	}

	empty, err := (&Document{}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(strings.Fields(string(empty)), ""); got != `{"keys":[]}` {
		t.Errorf("empty document = %s, want {\"keys\":[]}", got)
	}
}
