package gateway

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// FuzzLift pins the property the lift relies on: splicing the lifted body itself gives back the
// original bytes, and lifting never turns valid JSON into invalid JSON or back.
func FuzzLift(f *testing.F) {
	big := strings.Repeat("QUJD", liftMin/4+3)
	for _, s := range []string{
		`{"a":"` + big + `"}`,
		`{"m":[{"content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,` + big + `=="}}]}]}`,
		`{"t":"x \"` + big + `\" y"}`,
		`{"bad":"` + big + `==="}`,
		`{"short":"QUJD"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		orig := bytes.Clone(body)
		out, l := liftBlobs(body)
		if !bytes.Equal(body, orig) {
			t.Fatal("liftBlobs modified its input")
		}
		if got := l.splice(out); !bytes.Equal(got, orig) {
			t.Fatalf("splice(lift(b)) != b")
		}
		if json.Valid(orig) != json.Valid(out) {
			t.Fatalf("lifting changed validity")
		}
	})
}

// TestLiftSkipsSmallBodies pins that ordinary requests are passed through untouched.
func TestLiftSkipsSmallBodies(t *testing.T) {
	b := []byte(`{"model":"m","messages":[{"role":"user","content":"hi"}]}`)
	out, l := liftBlobs(b)
	if l != nil || &out[0] != &b[0] {
		t.Error("small body was copied or lifted")
	}
}
