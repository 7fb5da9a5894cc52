package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// Dir is a Store on a local folder, for `make run` and tests. Create is atomic across
// processes (a complete temporary file is hard-linked into place, which fails if the name
// exists); Replace is atomic within one process (the local server is one), which is all a
// local folder is used for.
type Dir struct {
	root string
	mu   sync.Mutex // serialises Replace's check-and-rename
}

// tmpPrefix marks the temporary files of writes in progress; List never returns them and
// CheckName-valid names never start with it (a leading '.' segment is not produced by Segment,
// but a caller could name one: such names are refused).
const tmpPrefix = ".tmp-"

// NewDir returns the Store on the folder root, creating it if needed.
func NewDir(root string) (*Dir, error) {
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	return &Dir{root: root}, nil
}

func (d *Dir) path(name string) (string, error) {
	if err := CheckName(name); err != nil {
		return "", err
	}
	if strings.HasPrefix(path.Base(name), tmpPrefix) {
		return "", fmt.Errorf("store: invalid object name %q", name)
	}
	return filepath.Join(d.root, filepath.FromSlash(name)), nil
}

// writeTemp writes r to a new temporary file beside p and returns its path.
func (d *Dir) writeTemp(ctx context.Context, p string, r io.Reader) (string, error) {
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return "", fmt.Errorf("store: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(p), tmpPrefix+"*")
	if err != nil {
		return "", fmt.Errorf("store: %w", err)
	}
	_, err = io.Copy(f, ctxReader{ctx, r})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("store: writing %s: %w", filepath.Base(p), err)
	}
	return f.Name(), nil
}

// Create implements Store.
func (d *Dir) Create(ctx context.Context, name string, r io.Reader) error {
	p, err := d.path(name)
	if err != nil {
		return err
	}
	if _, err := os.Stat(p); err == nil {
		return fmt.Errorf("%s: %w", name, ErrExists)
	}
	tmp, err := d.writeTemp(ctx, p, r)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	if err := os.Link(tmp, p); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s: %w", name, ErrExists)
		}
		return fmt.Errorf("store: %w", err)
	}
	return nil
}

// Replace implements Store.
func (d *Dir) Replace(ctx context.Context, name, version string, r io.Reader) error {
	p, err := d.path(name)
	if err != nil {
		return err
	}
	tmp, err := d.writeTemp(ctx, p, r)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	d.mu.Lock()
	defer d.mu.Unlock()
	fi, err := os.Stat(p)
	if err != nil || stamp(fi) != version {
		return fmt.Errorf("%s: %w", name, ErrConflict)
	}
	if err := os.Rename(tmp, p); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}

// Open implements Store.
func (d *Dir) Open(ctx context.Context, name string) (io.ReadCloser, Object, error) {
	p, err := d.path(name)
	if err != nil {
		return nil, Object{}, err
	}
	f, err := os.Open(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, Object{}, fmt.Errorf("%s: %w", name, ErrNotExist)
		}
		return nil, Object{}, fmt.Errorf("store: %w", err)
	}
	fi, err := f.Stat()
	if err != nil || fi.IsDir() {
		f.Close()
		return nil, Object{}, fmt.Errorf("%s: %w", name, ErrNotExist)
	}
	return f, object(name, fi), nil
}

// Delete implements Store.
func (d *Dir) Delete(ctx context.Context, name string) error {
	p, err := d.path(name)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}

// List implements Store. It walks only the folder that holds the prefix.
func (d *Dir) List(ctx context.Context, prefix, after string, limit int) ([]Object, error) {
	dir := prefix
	if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
		dir = prefix[:i]
	} else {
		dir = ""
	}
	start := filepath.Join(d.root, filepath.FromSlash(dir))
	var out []Object
	err := filepath.WalkDir(start, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if e.IsDir() || strings.HasPrefix(e.Name(), tmpPrefix) {
			return nil
		}
		rel, err := filepath.Rel(d.root, p)
		if err != nil {
			return err
		}
		name := filepath.ToSlash(rel)
		if !strings.HasPrefix(name, prefix) || name <= after {
			return nil
		}
		fi, err := e.Info()
		if err != nil {
			return nil // removed meanwhile
		}
		out = append(out, object(name, fi))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: listing %q: %w", prefix, err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func object(name string, fi fs.FileInfo) Object {
	return Object{Name: name, Size: fi.Size(), Version: stamp(fi), Updated: fi.ModTime()}
}

// stamp is a local file's version: its inode (a Replace renames a new file into place), size
// and modification time.
func stamp(fi fs.FileInfo) string {
	ino := uint64(0)
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		ino = st.Ino
	}
	return strconv.FormatUint(ino, 36) + "." + strconv.FormatInt(fi.Size(), 36) + "." + strconv.FormatInt(fi.ModTime().UnixNano(), 36)
}

// ctxReader stops a copy once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

var _ Store = (*Dir)(nil)
