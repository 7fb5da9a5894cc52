package media

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"unsafe"
)

var dataURITests = []struct {
	in       string
	wantMIME string // "" wants an Invalid error
	wantB64  string
}{
	{"data:image/png;base64,iVBORw0KGgo=", "image/png", "iVBORw0KGgo="},
	{"data:image/jpeg;base64,/9j/4AAQ", "image/jpeg", "/9j/4AAQ"},
	{"DATA:Image/PNG;BASE64,AAAA", "image/png", "AAAA"},
	{"data:audio/wav;base64,UklGRg==", "audio/wav", "UklGRg=="},
	{"data:image/jpg;base64,AAAA", "image/jpeg", "AAAA"},
	{"data:application/pdf;name=report.pdf;base64,JVBERi0x", "application/pdf", "JVBERi0x"},
	{`data:text/plain;charset="utf-8";base64,aGk=`, "text/plain", "aGk="},
	{"data:video/mp4;base64,AAAAGGZ0eXBtcDQy", "video/mp4", "AAAAGGZ0eXBtcDQy"},
	{"data:image/png;base64,AAA", "image/png", "AAA"},   // unpadded
	{"data:image/png;base64,AA-_", "image/png", "AA-_"}, // URL-safe alphabet
	{"data:image/svg+xml;base64,PHN2Zz4=", "image/svg+xml", "PHN2Zz4="},

	{"", "", ""},
	{"data:", "", ""},
	{"image/png;base64,AAAA", "", ""},
	{"http://example.com/a.png", "", ""},
	{"data:image/png,AAAA", "", ""},                                   // not base64
	{"data:text/plain,hello%20world", "", ""},                         // percent-encoded data URI
	{"data:;base64,AAAA", "", ""},                                     // no MIME type: no default
	{"data:base64,AAAA", "", ""},                                      // no MIME type
	{"data:image;base64,AAAA", "", ""},                                // no subtype
	{"data:/png;base64,AAAA", "", ""},                                 // no type
	{"data:image/;base64,AAAA", "", ""},                               // empty subtype
	{"data:image/png;base64", "", ""},                                 // no comma
	{"data:image/png;base64,", "", ""},                                // no data
	{"data:image/png;base64,A", "", ""},                               // impossible length
	{"data:image/png;base64,AAAAA", "", ""},                           // impossible length
	{"data:image/png;base64,AA=", "", ""},                             // bad padding
	{"data:image/png;base64,A===", "", ""},                            // too much padding
	{"data:image/png;base64,====", "", ""},                            // only padding
	{"data:image/png;base64,AA=A", "", ""},                            // padding in the middle
	{"data:image/png;base64,AA AA", "", ""},                           // whitespace
	{"data:image/png;base64,AAAA\n", "", ""},                          // newline
	{"data:image/png;base64,AA,AA", "", ""},                           // a second comma
	{"data:image/p ng;base64,AAAA", "", ""},                           // space in the type
	{"data:image/png;charset;base64,AAAA", "", ""},                    // parameter without value
	{"data:image/png;=x;base64,AAAA", "", ""},                         // parameter without name
	{"data:image/png;base64;base64x,AAAA", "", ""},                    // base64 not last
	{"data:image/png;base64=1,AAAA", "", ""},                          // not the base64 flag
	{"data:" + strings.Repeat("a", 300) + "/png;base64,AAAA", "", ""}, // header over the bound
}

// TestParseDataURI pins the accepted form and the errors, all of kind Invalid.
func TestParseDataURI(t *testing.T) {
	for _, tt := range dataURITests {
		mt, b64, err := ParseDataURI(tt.in)
		if tt.wantMIME == "" {
			var me *Error
			if !errors.As(err, &me) || me.Kind != Invalid {
				t.Errorf("ParseDataURI(%q) = %q, %q, %v; want an Invalid error", tt.in, mt, b64, err)
			}
			continue
		}
		if err != nil || mt != tt.wantMIME || b64 != tt.wantB64 {
			t.Errorf("ParseDataURI(%q) = %q, %q, %v; want %q, %q", tt.in, mt, b64, err, tt.wantMIME, tt.wantB64)
		}
	}
}

// TestParseDataURIErrorMessages pins the two messages clients hit most.
func TestParseDataURIErrorMessages(t *testing.T) {
	_, _, err := ParseDataURI("data:text/plain,hello")
	if err == nil || !strings.Contains(err.Error(), "must be base64-encoded") {
		t.Errorf("non-base64 error = %v", err)
	}
	_, _, err = ParseDataURI("data:;base64,AAAA")
	if err == nil || !strings.Contains(err.Error(), "media type") {
		t.Errorf("missing type error = %v", err)
	}
}

// TestParseDataURINoCopy pins that the returned base64 shares memory with the
// input: a multi-megabyte image must not be copied.
func TestParseDataURINoCopy(t *testing.T) {
	s := "data:image/png;base64," + strings.Repeat("QUJD", 1024)
	_, b64, err := ParseDataURI(s)
	if err != nil {
		t.Fatal(err)
	}
	if unsafe.StringData(b64) != unsafe.StringData(s[len("data:image/png;base64,"):]) {
		t.Error("base64 was copied, want a substring of the input")
	}
}

// FuzzParseDataURI pins that ParseDataURI never panics and that whatever it
// accepts is a decodable suffix of its input.
func FuzzParseDataURI(f *testing.F) {
	for _, tt := range dataURITests {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		mt, b64, err := ParseDataURI(s)
		if err != nil {
			var me *Error
			if !errors.As(err, &me) || me.Kind != Invalid {
				t.Fatalf("error %v is not an Invalid *Error", err)
			}
			return
		}
		if mt == "" || b64 == "" || !strings.HasSuffix(s, ","+b64) {
			t.Fatalf("ParseDataURI(%q) = %q, %q: want a type and a suffix of the input", s, mt, b64)
		}
		std := strings.NewReplacer("-", "+", "_", "/").Replace(strings.TrimRight(b64, "="))
		if _, err := base64.RawStdEncoding.DecodeString(std); err != nil {
			t.Fatalf("accepted base64 %q does not decode: %v", b64, err)
		}
	})
}

// BenchmarkParseDataURI measures an 8 MiB image data URI: the cost is the
// alphabet scan, with no allocation and no copy of the payload.
func BenchmarkParseDataURI(b *testing.B) {
	payload := base64.StdEncoding.EncodeToString(make([]byte, 6<<20)) // 8 MiB of base64
	s := "data:image/png;base64," + payload
	b.SetBytes(int64(len(s)))
	b.ReportAllocs()
	for b.Loop() {
		mt, b64, err := ParseDataURI(s)
		if err != nil || mt != "image/png" || len(b64) != len(payload) {
			b.Fatal(mt, len(b64), err)
		}
	}
}
