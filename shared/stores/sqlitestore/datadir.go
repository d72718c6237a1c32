package sqlitestore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// ErrNoCatalog is returned by OpenExisting when the data directory holds
// no catalog file.
var ErrNoCatalog = errors.New("holds no catalog")

// DirError is a data directory glsync cannot use, with the operating
// system's reason (permission denied, not a directory, read-only file
// system…) instead of SQLite's "unable to open database file".
type DirError struct {
	// Dir is the data directory, Path the file or directory the
	// operation was on, Op what glsync was doing.
	Dir, Path, Op string
	Err           error
}

func (e *DirError) Error() string {
	reason := e.Err
	var pe *fs.PathError
	if errors.As(e.Err, &pe) {
		reason = pe.Err // the path is said once, below
	}
	return fmt.Sprintf("catalog: data directory %s: %s %s: %v", e.Dir, e.Op, e.Path, reason)
}

func (e *DirError) Unwrap() error { return e.Err }

// OpenExisting opens the catalog in dir without creating anything: no
// directory, no database file. A directory without the file is
// ErrNoCatalog; one that cannot be read is a *DirError.
func OpenExisting(dir string) (*Store, error) {
	path := filepath.Join(dir, FileName)
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("catalog: data directory %s %w (%s not found)", dir, ErrNoCatalog, FileName)
		}
		return nil, &DirError{Dir: dir, Path: path, Op: "reading", Err: err}
	}
	return Open(dir)
}

// diagnose finds why SQLite could not open the catalog in dir, which it
// only reports as "unable to open database file": the directory, the
// database file, or the files SQLite keeps beside it (its write-ahead log
// and shared memory) that cannot be created. nil when nothing is found.
func diagnose(dir string) error {
	st, err := os.Stat(dir)
	if err != nil {
		return &DirError{Dir: dir, Path: dir, Op: "reading", Err: err}
	}
	if !st.IsDir() {
		return &DirError{Dir: dir, Path: dir, Op: "using", Err: errors.New("not a directory")}
	}
	path := filepath.Join(dir, FileName)
	flag := os.O_RDWR
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		flag |= os.O_CREATE | os.O_EXCL
	}
	f, err := os.OpenFile(path, flag, 0o600)
	if err != nil {
		op := "opening for writing"
		if flag&os.O_CREATE != 0 {
			op = "creating"
		}
		return &DirError{Dir: dir, Path: path, Op: op, Err: err}
	}
	f.Close()
	if flag&os.O_CREATE != 0 {
		os.Remove(path) // only a probe: SQLite makes the real one
	}
	probe, err := os.CreateTemp(dir, ".glsync-probe-*")
	if err != nil {
		return &DirError{Dir: dir, Path: dir, Op: "creating files (SQLite's " + FileName + "-wal and -shm) in", Err: err}
	}
	probe.Close()
	os.Remove(probe.Name())
	return nil
}
