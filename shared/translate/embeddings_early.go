package translate

import (
	"bytes"
	"slices"
	"sync"

	"github.com/geminigateway/gateway/shared/gemini"
	"github.com/geminigateway/gateway/shared/openai"
)

// Vectors converted while the answer arrives.
//
// An answer of a hundred 768-dimension vectors is about a megabyte, which takes milliseconds to
// come through the network, and converting its numbers (checking them for
// float, parsing and encoding them for base64) takes about a millisecond of CPU. Done after the
// last byte, that millisecond is added to the request; done on each vector as soon as its
// closing bracket has arrived (EmbedCall.Watch, called by gemini.Client.EmbedWatched between
// reads), it overlaps the transfer, and what is left after the last byte is the last vectors.
//
// When the request is one call (up to 100 inputs on the Developer API), the early work goes
// further: each vector is written, converted, as the response's item of its place in the answer,
// in a buffer that starts as the response, so that when the answer's decoder agrees on every
// place, the response is that buffer with the last vectors and the tail appended, and no
// megabyte is copied after the last byte either.
//
// What is done early is only a cache: each converted vector is kept with where it sat in the
// answer's bytes, and AppendEmbeddings uses it for a vector only when the answer's own decoder
// (gemini.decodeEmbedResponse) put that very vector at that very place. Anything else (a vector
// the early scan did not see, saw in some other member, or could not convert) is converted
// after, as it would be with no early work, so the response is byte for byte the same.

// valuesKey is how a vector starts in a compact answer (prettyPrint=false), in both shapes:
// {"embeddings":[{"values":[…]},…]} and {"predictions":[{"embeddings":{…,"values":[…]}},…]}.
const valuesKey = `"values":[`

// earlyVectors holds one answer's vectors converted while it arrived.
type earlyVectors struct {
	base64 bool
	next   int    // where the next look for valuesKey starts
	out    []byte // the conversions, one after the other (base64: each a quoted string)
	spans  []earlySpan
	cursor int // AppendEmbeddings' place in spans
	ends   int // VectorEnd's place in spans
	// inPlace: out is the response so far, openai.AppendEmbeddingsHead and then span k's
	// conversion as item k, for each span; it stops being so (and out is only a cache) at the
	// first vector that cannot be converted.
	inPlace bool
}

// earlySpan is one converted vector: answer[start:end] is the array, and its conversion is
// out[from:to]: for float, the array itself, checked (copied into out when in place, else
// nothing is kept: it goes out from the answer as it is).
type earlySpan struct{ start, end, from, to int }

// earlyPool keeps earlyVectors, their buffers included, from one answer to the next.
var earlyPool = sync.Pool{New: func() any { return new(earlyVectors) }}

// maxPooledEarly bounds the conversion buffers kept in earlyPool.
const maxPooledEarly = 4 << 20

// Watch returns the gemini.Watcher to show the answer to call c's request while it arrives
// (gemini.Client.EmbedWatched): it converts each vector whose closing bracket is there, for
// AppendEmbeddings to use, and tells the decoder where those vectors end. A new Watch forgets
// what an earlier one converted, so each attempt at the call starts clean. The work is kept
// until AppendEmbeddings, which releases it.
func (c *EmbedCall) Watch() gemini.Watcher {
	c.release()
	x := earlyPool.Get().(*earlyVectors)
	*x = earlyVectors{base64: c.base64, out: x.out[:0], spans: x.spans[:0], inPlace: c.solo}
	if x.inPlace {
		x.out = openai.AppendEmbeddingsHead(x.out)
	}
	c.early = x
	return x
}

// release gives c's early work back to earlyPool.
func (c *EmbedCall) release() {
	x := c.early
	if x == nil {
		return
	}
	c.early = nil
	if cap(x.out) <= maxPooledEarly {
		earlyPool.Put(x)
	}
}

// Arrived converts the vectors of sofar, the answer's bytes so far, that are complete and not
// converted yet.
func (x *earlyVectors) Arrived(sofar []byte) {
	for x.next < len(sofar) {
		k := bytes.Index(sofar[x.next:], []byte(valuesKey))
		if k < 0 {
			// The key may be cut at the end: look again from where it could start.
			x.next = max(x.next, len(sofar)-len(valuesKey)+1)
			return
		}
		start := x.next + k + len(valuesKey) - 1 // the '['
		n := bytes.IndexByte(sofar[start:], ']')
		if n < 0 {
			x.next += k // not all there yet
			return
		}
		end := start + n + 1
		x.next = end
		v := sofar[start:end]
		mark := len(x.out)
		if x.inPlace {
			x.out = openai.AppendEmbeddingItemHead(x.out, len(x.spans))
		}
		from := len(x.out)
		ok := true
		switch {
		case x.base64:
			var err error
			x.out, err = appendBase64Vector(x.out, v)
			ok = err == nil
		case !compactNumbers(v):
			ok = false
		case x.inPlace:
			x.out = append(x.out, v...)
		}
		if !ok { // left to be converted after, where its error is reported
			x.out = x.out[:mark]
			x.inPlace = false
			continue
		}
		x.spans = append(x.spans, earlySpan{start: start, end: end, from: from, to: len(x.out)})
		if x.inPlace {
			x.out = append(x.out, '}')
		}
	}
}

// VectorEnd returns the end of the converted vector that starts at start, if there is one: the
// '[' at start and the first ']' after it were found by Arrived in the same bytes the decoder
// reads. Calls come in increasing start order.
func (x *earlyVectors) VectorEnd(start int) (int, bool) {
	k, ok := x.seek(&x.ends, start)
	if !ok {
		return 0, false
	}
	return x.spans[k].end, true
}

// seek returns the number of the span that starts at start, if there is one. Spans are in
// order, and so are the starts asked for, so the search goes on from *from, which it leaves at
// the first span not before start.
func (x *earlyVectors) seek(from *int, start int) (int, bool) {
	k := *from
	for k < len(x.spans) && x.spans[k].start < start {
		k++
	}
	*from = k
	return k, k < len(x.spans) && x.spans[k].start == start
}

// lookup returns the span converted from the vector v that starts at offset at in the answer,
// and its number, if there is one. Vectors are looked up in the order of the answer.
func (x *earlyVectors) lookup(v []byte, at int) (earlySpan, int, bool) {
	if x == nil {
		return earlySpan{}, 0, false
	}
	k, ok := x.seek(&x.cursor, at)
	if !ok || x.spans[k].end-at != len(v) {
		return earlySpan{}, 0, false
	}
	return x.spans[k], k, true
}

// response returns the response written in place (inPlace) when the answer's decoder put
// vector k where span k is for every span (placed counts the vectors from the first that did,
// at least one), with the vectors after them appended by vector (about rest bytes) and the tail
// by list; it gives x the buffer spare, for the pool. ok is false when it was not written in
// place: the caller writes it.
func (x *earlyVectors) response(placed, rest int, list *openai.EmbeddingList, vector func(b []byte, i int) ([]byte, error), spare []byte) (out []byte, ok bool, err error) {
	if x == nil || !x.inPlace || placed == 0 || placed != len(x.spans) || placed > list.Len {
		return nil, false, nil
	}
	out = slices.Grow(x.out, rest+list.Overhead())
	for i := placed; i < list.Len; i++ {
		out = openai.AppendEmbeddingItemHead(out, i)
		if out, err = vector(out, i); err != nil {
			return nil, true, err
		}
		out = append(out, '}')
	}
	x.out = spare[:0] // out is the caller's now
	return list.AppendTail(out), true, nil
}
