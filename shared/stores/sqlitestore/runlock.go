package sqlitestore

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// RunLockFile is the lock glsyncd run holds in its data directory.
const RunLockFile = "run.lock"

// ErrRunning is returned by LockRun when another process runs on the
// data directory.
var ErrRunning = errors.New("another glsyncd run holds this data directory")

// LockRun takes the data directory's run lock, so a second glsyncd run on
// the same catalog refuses to start instead of fighting the first over
// the queue. The lock is an OS file lock: it goes with the process, even
// when it is killed. The file names the holder's pid and host.
func LockRun(dir string) (release func(), err error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, &DirError{Dir: dir, Path: dir, Op: "creating", Err: err}
	}
	path := filepath.Join(dir, RunLockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, &DirError{Dir: dir, Path: path, Op: "creating the run lock", Err: err}
	}
	if err := lockFile(f); err != nil {
		holder, _ := os.ReadFile(path)
		f.Close()
		who := strings.TrimSpace(string(holder))
		if who == "" {
			who = "unknown process"
		}
		return nil, fmt.Errorf("%w (%s, lock file %s): run one glsyncd per data directory; "+
			"to resync while it runs use `glsyncd resync --remote http://<its admin address>`, "+
			"and for several replicas use a PostgreSQL catalog (catalog: postgres)", ErrRunning, who, path)
	}
	host, _ := os.Hostname()
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte("pid "+strconv.Itoa(os.Getpid())+" on "+host+"\n"), 0)
	return func() {
		_ = f.Truncate(0)
		_ = unlockFile(f)
		f.Close()
	}, nil
}
