package gateway

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"

	"github.com/geminigateway/gateway/shared/store"
)

// objectWriter streams lines into a new store object (create-only) through a pipe, so that a
// batch file of any size is written without being held.
type objectWriter struct {
	pw    *io.PipeWriter
	done  chan error
	lines int64
	bytes int64
	// exists is set once the store said the object exists: a concurrent writer of the same
	// deterministic content won, and what is left to write is dropped.
	exists bool
}

func newObjectWriter(ctx context.Context, st store.Store, name string) *objectWriter {
	pr, pw := io.Pipe()
	w := &objectWriter{pw: pw, done: make(chan error, 1)}
	go func() {
		err := st.Create(ctx, name, pr)
		pr.CloseWithError(err) // unblocks a writer if Create stopped early
		w.done <- err
	}()
	return w
}

// line writes b (one JSON value, with or without its newline) as one line.
func (w *objectWriter) line(b []byte) error {
	w.lines++
	w.bytes += int64(len(b))
	if w.exists {
		return nil
	}
	_, err := w.pw.Write(b)
	if err == nil && (len(b) == 0 || b[len(b)-1] != '\n') {
		w.bytes++
		_, err = w.pw.Write([]byte{'\n'})
	}
	if errors.Is(err, store.ErrExists) {
		w.exists = true
		return nil
	}
	return err
}

// close ends the object and returns the store's answer; an object that already exists (a
// concurrent writer of the same deterministic content won) is not an error.
func (w *objectWriter) close() error {
	w.pw.Close()
	if err := <-w.done; err != nil && !errors.Is(err, store.ErrExists) {
		return err
	}
	return nil
}

// abort drops the object.
func (w *objectWriter) abort(err error) {
	w.pw.CloseWithError(err)
	<-w.done
}

// lineReader reads JSON lines of at most max bytes; a longer line is skipped and reported.
type lineReader struct {
	br  *bufio.Reader
	max int
	n   int // lines read so far
}

func newLineReader(r io.Reader, max int) *lineReader {
	return &lineReader{br: bufio.NewReaderSize(r, 64<<10), max: max}
}

// next returns the next line without its newline, whether it was longer than max (then line
// is nil), and io.EOF after the last line.
func (l *lineReader) next() (line []byte, tooLong bool, err error) {
	var buf []byte
	for {
		chunk, err := l.br.ReadSlice('\n')
		if !tooLong {
			if len(buf)+len(chunk) > l.max+1 {
				tooLong, buf = true, nil
			} else {
				buf = append(buf, chunk...)
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil && (!errors.Is(err, io.EOF) || (len(buf) == 0 && !tooLong)) {
			return nil, false, err
		}
		l.n++
		if tooLong {
			return nil, true, nil
		}
		return bytes.TrimRight(buf, "\r\n"), false, nil
	}
}
