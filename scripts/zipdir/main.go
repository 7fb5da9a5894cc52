// Command zipdir writes a directory tree into a reproducible zip archive: the same files with the
// same contents give byte-identical archives, whatever their timestamps, owners or umask. The
// deployment hashes the archives (Terraform's filesha256 / filebase64sha256), so an unchanged
// build changes nothing in the cloud.
//
//	go run ./scripts/zipdir -o dist/lambda.zip DIR
//
// What makes it reproducible:
//   - entries in byte order of their slash-separated paths, directories before their contents;
//   - every entry dated 1980-01-01 00:00:00 UTC (the earliest DOS date; the extended
//     timestamp field Go writes holds the same instant);
//   - modes reduced to 0755 (directories, and files with any execute bit) or 0644;
//   - no owner, comment or other extra fields; regular files and directories only (symlinks and other
//     special files are refused).
//
// Deflate output is the Go standard library's, so a different Go release may compress
// differently; the archive is then new once, not on every build.
//
// It is a Go program rather than zip(1) or python3 because `make package` must work on a
// machine that has only Go.
package main

import (
	"archive/zip"
	"bufio"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// epoch is the timestamp of every entry.
var epoch = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

func main() {
	out := flag.String("o", "", "output zip file (required)")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: zipdir -o OUT.zip DIR")
		flag.PrintDefaults()
	}
	flag.Parse()
	if *out == "" || flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	if err := zipDir(flag.Arg(0), *out); err != nil {
		fmt.Fprintln(os.Stderr, "zipdir:", err)
		os.Exit(1)
	}
}

type entry struct {
	name string // slash-separated, relative to the root; directories end in "/"
	path string // on disk
	mode fs.FileMode
}

// zipDir writes every file and directory under root (not root itself) to the zip file out,
// through a temporary file renamed into place, so a failed run never leaves a partial archive.
func zipDir(root, out string) error {
	entries, err := collect(root)
	if err != nil {
		return err
	}
	if len(entries) == 0 {
		return fmt.Errorf("%s: nothing to archive", root)
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), ".zipdir-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	bw := bufio.NewWriterSize(tmp, 1<<20)
	if err := write(bw, entries); err != nil {
		tmp.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), out)
}

// collect lists the entries under root in archive order.
func collect(root string) ([]entry, error) {
	var entries []entry
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if path == root {
			return nil
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		name := filepath.ToSlash(rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case info.IsDir():
			entries = append(entries, entry{name: name + "/", path: path, mode: fs.ModeDir | 0o755})
		case info.Mode().IsRegular():
			mode := fs.FileMode(0o644)
			if info.Mode()&0o111 != 0 {
				mode = 0o755
			}
			entries = append(entries, entry{name: name, path: path, mode: mode})
		default:
			return fmt.Errorf("%s: not a regular file or directory (%v)", path, info.Mode().Type())
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// "a/" sorts before "a/b" and "a.go" sorts before "a/": plain byte order of the names is a
	// valid order (every directory precedes its contents) and is independent of the file system.
	sort.Slice(entries, func(i, j int) bool { return entries[i].name < entries[j].name })
	return entries, nil
}

func write(w io.Writer, entries []entry) error {
	zw := zip.NewWriter(w)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate, Modified: epoch}
		h.SetMode(e.mode)
		if e.mode.IsDir() {
			h.Method = zip.Store
			if _, err := zw.CreateHeader(h); err != nil {
				return err
			}
			continue
		}
		fw, err := zw.CreateHeader(h)
		if err != nil {
			return err
		}
		if err := copyFile(fw, e.path); err != nil {
			return err
		}
	}
	return zw.Close()
}

func copyFile(w io.Writer, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := io.Copy(w, f); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
