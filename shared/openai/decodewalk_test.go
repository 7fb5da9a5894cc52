package openai

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// walkCases are bodies whose messages the top-level walk decodes as it checks them
// (messagesAt): each must decode, or fail, exactly as the reference (encoding/json's top level,
// jsonscan.Valid, then the messages) does — above all which error wins where a body has several.
var walkCases = []string{
	`{"model":"m","messages":[{"role":"user","content":5}],"bogus":1}`,                        // an unknown key after a bad message
	`{"model":"m","messages":[{"role":"user","content":5}],"temperature":01}`,                 // invalid JSON after a bad message
	`{"model":"m","messages":[{"role":"user","content":5},{"role":"user","content":"\x01"}]}`, // invalid JSON in a later message
	`{"model":"m","messages":[{"role":"user","content":5}],"temperature":"hot"}`,              // a type error after a bad message
	`{"model":"m","messages":[{"role":"user","content":5}],"max_tokens":0}`,                   // a validate error after a bad message
	`{"model":"m","messages":[5,{"role":"user","content":"\u00e9"}]}`,
	`{"model":"m","messages":[{"role":"user","content":"a"}],"messages":{}}`,
	`{"model":"m","messages":[{"role":"user","content":"a"}],"messages":null}`,
	`{"model":"m","messages":[{"role":"user","content":"a"}],"messages":[{"role":"system","content":"b"},{"role":"user","content":"c"}]}`,
	`{"model":"m","messages":[{"role":"user","content":"a"}],"messages":[1 2]}`,
	`{"model":"m","messages":[],"max_tokens":7}`,
	`{"model":"m","messages":[{"role":"us\u0065r","content":"caf\u00e9","name":"n\"","tool_call_id":"t"}]}`,
	"{\"model\":\"m\xff\",\"messages\":[{\"role\":\"user\",\"content\":\"caf\xc3\xa9 \xff\"}]}",
	`{"model":"m","messages":[{"role":"user","content":"a","content":null}]}`,
	`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"a"}],"x":1}]}`,
	`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"a"}]},]}`,
	`{"model":"m","messages":[{"role":"user","content":"a"}] , "stream" : false }`,
	`{"model":"m","messages":[{"role":"user","content":"a"}]} x`,
	`{"model":"m","messages":[{"role":"user","content":"a"}],"google":{"x":1}}`,
	`{"model":"m","messages":[{"role":"user","content":"a"}],"google":{"safety_settings":[]},"google":{}}`,
	`{"model":"m","messages":[[[[[[[[]]]]]]]]}`,
	`{"model":"m","messages":[{"role":"user","content":"a"}],"temperature":3}`,
	`{"model":"m","messages":[{"role":"user","content":"a"}],"top_p":-0.5,"n":0}`,
	`{"model":"m","messages":[{"role":"user","content":"a"}],"max_tokens":-00}`,
	`{"model":"m","messages":[{"role":"user","content":"a"}],"max_tokens":123456789012345678}`,
	`{"model":"m","messages":[{"role":"user","content":"a"}],"max_tokens":-123456789012345678}`,
	`{"model":"m","messages":[{"role":"user","content":"a"}],"max_tokens":9223372036854775808}`,
	// more messages than the slice is first made for
	`{"model":"m","messages":[` + strings.Repeat(`{"role":"user","content":"a"},`, 40) + `{}]}`,
	`{"model":"m","messages":[` + strings.Repeat(`{},`, 40) + `{"role":"user","content":"` + strings.Repeat("a", 3000) + `"}]}`,
}

// TestDecodeInTheWalk holds the walk that decodes the messages as it checks them to the
// reference, with the default limits and with limits the bodies pass.
func TestDecodeInTheWalk(t *testing.T) {
	for _, b := range walkCases {
		sameDecode(t, []byte(b))
		sameDecodeLimits(t, Limits{Messages: 1, Parts: 1}, []byte(b))
	}
	for _, c := range benchBodies {
		sameDecodeLimits(t, Limits{Messages: 2, Parts: 2}, []byte(c.body))
		// past maxShared each string is a copy of its own
		sameDecode(t, []byte(c.body+strings.Repeat(" ", maxShared)))
	}
	for _, b := range recordedBodies(t) {
		sameDecodeLimits(t, Limits{Messages: 1, Parts: 1}, b)
	}
}

// sameDecodeLimits is sameDecode with limits l.
func sameDecodeLimits(t *testing.T, l Limits, body []byte) {
	t.Helper()
	got, gerr := l.decode(context.Background(), body, true)
	want, werr := l.decode(context.Background(), body, false)
	if (gerr == nil) != (werr == nil) || gerr != nil && gerr.Error() != werr.Error() {
		t.Fatalf("%+v %s:\nfast error %v\njson error %v", l, body, gerr, werr)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%+v %s:\nfast %+v\njson %+v", l, body, got, want)
	}
}

// FuzzDecodeInTheWalk is FuzzDecodeTopLevel with limits small enough for a body to pass them:
// the messages decoded in the walk, and which error wins, against the reference.
func FuzzDecodeInTheWalk(f *testing.F) {
	for _, b := range walkCases {
		f.Add([]byte(b))
	}
	for _, c := range topLevelCases {
		f.Add([]byte(c.body))
	}
	for _, c := range benchBodies {
		f.Add([]byte(c.body))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		sameDecodeLimits(t, Limits{Messages: 3, Parts: 2}, b)
	})
}

// TestDecodeDoesNotHoldTheBody: the strings of a decoded request are copies (the body's buffer
// is pooled and reused): overwriting the body afterwards changes nothing in the request.
func TestDecodeDoesNotHoldTheBody(t *testing.T) {
	bodies := []string{walkCases[11], walkCases[12]}
	for _, c := range benchBodies {
		bodies = append(bodies, c.body, c.body+strings.Repeat("\n", maxShared))
	}
	for _, raw := range recordedBodies(t) {
		bodies = append(bodies, string(raw))
	}
	for _, s := range bodies {
		body := []byte(s)
		got, err := DecodeRequest(body)
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		for i := range body {
			body[i] = 'x'
		}
		want, err := DecodeRequest([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: the request changed with the body:\n%+v\n%+v", s, got, want)
		}
	}
}

// TestDecodeAllocations pins what the representative request costs: the request block (the
// Request, its message, its max_tokens) and one copy of the body its strings are cut from.
func TestDecodeAllocations(t *testing.T) {
	body := []byte(benchBodies[0].body)
	n := testing.AllocsPerRun(100, func() {
		if _, err := DecodeRequest(body); err != nil {
			t.Fatal(err)
		}
	})
	if n > 2 {
		t.Errorf("DecodeRequest(representative) makes %v allocations, want 2", n)
	}
}

// TestValidateErrors pins the messages of the range checks, each naming its field.
func TestValidateErrors(t *testing.T) {
	for body, want := range map[string]string{
		`"temperature":2.5`:          "temperature must be between 0 and 2, got 2.5",
		`"top_p":-0.1`:               "top_p must be between 0 and 1, got -0.1",
		`"top_k":0`:                  "top_k must be at least 1, got 0",
		`"n":-1`:                     "n must be at least 1, got -1",
		`"max_tokens":0`:             "max_tokens must be at least 1, got 0",
		`"max_completion_tokens":-5`: "max_completion_tokens must be at least 1, got -5",
		`"top_logprobs":21`:          "top_logprobs must be between 0 and 20, got 21",
		`"seed":4294967296`:          "seed must fit in 32 bits (-2147483648 to 2147483647), got 4294967296",
	} {
		_, err := DecodeRequest([]byte(`{"model":"m","messages":[],` + body + `}`))
		var e *Error
		field, _, _ := strings.Cut(strings.Trim(body, `"`), `"`)
		if !errors.As(err, &e) || e.Status != 400 || e.Param != field || e.Message != want {
			t.Errorf("%s: err = %#v, want %q on %s", body, err, want, field)
		}
	}
}
