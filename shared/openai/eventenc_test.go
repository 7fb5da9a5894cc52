package openai

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

// fuzzEvent builds a Responses stream event of the shape AppendResponseEvent encodes: flags pick
// the fields set, s fills every string, n every number.
func fuzzEvent(typ, s string, n int, flags uint16) *ResponseEvent {
	bit := func(i uint) bool { return flags&(1<<i) != 0 }
	ev := &ResponseEvent{Type: typ, SequenceNumber: n}
	str := func(i uint) *string {
		if !bit(i) {
			return nil
		}
		v := s
		return &v
	}
	num := func(i uint) *int {
		if !bit(i) {
			return nil
		}
		v := n + int(i)
		return &v
	}
	ev.OutputIndex, ev.ContentIndex, ev.SummaryIndex, ev.AnnotationIndex = num(0), num(1), num(2), num(3)
	ev.Delta, ev.Text, ev.Arguments, ev.Code, ev.Param = str(4), str(5), str(6), str(7), str(8)
	if bit(9) {
		ev.ItemID, ev.Name, ev.Message = s, s+"n", "m"+s
	}
	switch {
	case bit(10):
		lp := []ResponseLogprob{}
		ev.Logprobs = &lp
	case bit(11):
		ev.Logprobs = new([]ResponseLogprob)
	}
	return ev
}

func encodeEventStd(t *testing.T, ev *ResponseEvent) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(ev); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// FuzzAppendResponseEvent proves AppendResponseEvent byte-identical to encoding/json for every
// event of the shape it takes, with any strings and numbers.
func FuzzAppendResponseEvent(f *testing.F) {
	f.Add(EventTextDelta, "Par", 4, uint16(0b100_0001_0011))
	f.Add("error", "a\x00\x01\b\f\n\r\t\x1f\x7f é \u2028\u2029 \xff<>&\"\\", -3, uint16(0xffff))
	f.Add("", "", 0, uint16(0))
	f.Fuzz(func(t *testing.T, typ, s string, n int, flags uint16) {
		ev := fuzzEvent(typ, s, n, flags)
		got, ok := AppendResponseEvent([]byte("prefix"), ev)
		if !ok {
			t.Fatalf("AppendResponseEvent refused an event of its shape: %+v", ev)
		}
		if want := encodeEventStd(t, ev); !bytes.Equal(got[len("prefix"):], want) {
			t.Fatalf("AppendResponseEvent differs from encoding/json:\n got %s\nwant %s", got[len("prefix"):], want)
		}
	})
}

// Events with logprobs entries are left to encoding/json, and every field of ResponseEvent set
// on its own is encoded as encoding/json encodes it or refused: a field added later cannot be
// dropped silently.
func TestAppendResponseEventFields(t *testing.T) {
	lp := []ResponseLogprob{{}}
	if b, ok := AppendResponseEvent([]byte("x"), &ResponseEvent{Logprobs: &lp}); ok || string(b) != "x" {
		t.Errorf("logprobs: ok=%v, buffer %q", ok, b)
	}
	eachField(t, func() *ResponseEvent { return &ResponseEvent{Type: EventTextDelta} },
		map[string]func(*ResponseEvent) reflect.Value{
			"ResponseEvent": func(ev *ResponseEvent) reflect.Value { return reflect.ValueOf(ev).Elem() },
		}, func(name string, ev *ResponseEvent) {
			if got, ok := AppendResponseEvent(nil, ev); ok && !bytes.Equal(got, encodeEventStd(t, ev)) {
				t.Errorf("%s: AppendResponseEvent differs from encoding/json:\n got %s\nwant %s", name, got, encodeEventStd(t, ev))
			}
		})
}
