package gemini

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"sync"
)

// EventReader reads server-sent events and returns each event's data (the data: lines joined
// with newlines). Comments are skipped; CRLF and LF line ends are both accepted. A line that is
// not a field but a bare JSON value is returned as an out-of-band event so the caller can decode
// it as an error: Vertex has been seen writing an error status outside "data:" mid-stream.
type EventReader struct {
	r    *bufio.Reader
	data []byte
	line []byte
}

// readerPool holds released EventReaders with their 4 KiB read buffer and event buffers: a
// stream's largest allocations, made once per stream otherwise.
var readerPool = sync.Pool{New: func() any { return &EventReader{r: bufio.NewReaderSize(nil, 4<<10)} }}

// maxPooled bounds the event and line buffers a pooled reader keeps: an event carrying an image
// is let go rather than pinned.
const maxPooled = 64 << 10

// errReleased is Next's error after Release.
var errReleased = errors.New("gemini: event reader released")

// NewEventReader returns an EventReader on r. Release returns it to a pool when the caller is
// done with it; one that is never released is collected as usual.
func NewEventReader(r io.Reader) *EventReader {
	er := readerPool.Get().(*EventReader)
	er.r.Reset(r)
	return er
}

// Release ends the reader's use and returns it to the pool: the data of the last event is no
// longer valid and Next returns an error. The caller must not use er concurrently with Release.
func (er *EventReader) Release() {
	if er.r == nil {
		return
	}
	r := er.r
	r.Reset(nil)
	p := &EventReader{r: r}
	if cap(er.data) <= maxPooled {
		p.data = er.data[:0]
	}
	if cap(er.line) <= maxPooled {
		p.line = er.line[:0]
	}
	*er = EventReader{}
	readerPool.Put(p)
}

// Next returns the data of the next event. OutOfBand is true for a bare JSON line. The returned
// slice is valid until the next call. At the end of input it returns io.EOF;
// an event cut off by the end of input is still returned first.
func (er *EventReader) Next() (data []byte, outOfBand bool, err error) {
	if er.r == nil {
		return nil, false, errReleased
	}
	er.data = er.data[:0]
	has := false
	for {
		line, err := er.readLine()
		if err != nil {
			if errors.Is(err, io.EOF) {
				if has {
					return er.data, false, nil
				}
				if len(line) == 0 {
					return nil, false, io.EOF
				}
			} else {
				return nil, false, err
			}
		}
		if len(line) == 0 {
			if has {
				return er.data, false, nil
			}
			if err != nil {
				return nil, false, io.EOF
			}
			continue
		}
		switch {
		case line[0] == ':':
			// comment
		case bytes.HasPrefix(line, []byte("data:")):
			v := line[5:]
			if len(v) > 0 && v[0] == ' ' {
				v = v[1:]
			}
			if has {
				er.data = append(er.data, '\n')
			}
			er.data = append(er.data, v...)
			has = true
		case line[0] == '{' || line[0] == '[':
			if has {
				return er.data, false, nil // unlikely: dispatch what we have; the line is lost only if malformed framing
			}
			er.data = append(er.data, line...)
			return er.data, true, nil
		default:
			// event:, id:, retry: and unknown fields carry nothing we use.
		}
		if err != nil {
			if has {
				return er.data, false, nil
			}
			return nil, false, io.EOF
		}
	}
}

// Ready reports whether a whole event is already buffered, so Next will not wait for input.
func (er *EventReader) Ready() bool {
	if er.r == nil {
		return false
	}
	b, _ := er.r.Peek(er.r.Buffered())
	return bytes.Contains(b, []byte("\n\n")) || bytes.Contains(b, []byte("\n\r\n"))
}

// readLine returns one line without its line end. Long lines (multi-megabyte images) are
// assembled from the reader's buffer into er.line.
func (er *EventReader) readLine() ([]byte, error) {
	er.line = er.line[:0]
	for {
		chunk, err := er.r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			er.line = append(er.line, chunk...)
			continue
		}
		var line []byte
		if len(er.line) > 0 {
			er.line = append(er.line, chunk...)
			line = er.line
		} else {
			line = chunk
		}
		line = bytes.TrimSuffix(line, []byte("\n"))
		line = bytes.TrimSuffix(line, []byte("\r"))
		return line, err
	}
}
