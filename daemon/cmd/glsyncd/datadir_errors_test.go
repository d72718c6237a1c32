package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/glsync/terraform-provider-glsync/shared/stores"
	"github.com/glsync/terraform-provider-glsync/shared/stores/sqlitestore"
)

// dataDirConfig writes a config for the simulator at url with appHost set
// (so hooks plan and apply run) and returns its path.
func dataDirConfig(t *testing.T, url, token string) string {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf("gitlabHost: %s\nappHost: https://glsync.example.com\ntokenMapping:\n  %s: ['**']\n", url, token)), 0o644); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// The commands that open the catalog: those that only read it, those
// that create it, and those that tend an existing one.
var (
	readOnlyCommands = [][]string{{"catalog", "list"}, {"queue", "list"}, {"hooks", "plan"}, {"mapping", "test", "--kind", "project", "--from-examples"}}
	writeCommands    = [][]string{{"resync"}, {"hooks", "apply"}, {"run", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"}}
	tendCommands     = [][]string{{"queue", "retry", "--all"}, {"queue", "drop", "--all"}}
)

// wantDataDirReason checks a failure on an unusable data directory: exit
// 2, the OS's reason, the path, and the flag and variable that choose
// another; never SQLite's "unable to open database file".
func wantDataDirReason(t *testing.T, args []string, code int, stderr, reason, path string) {
	t.Helper()
	if code != exitUsage || !strings.Contains(stderr, reason) || !strings.Contains(stderr, path) ||
		!strings.Contains(stderr, "--data-dir") || !strings.Contains(stderr, envDataDir) || strings.Contains(stderr, "unable to open database file") {
		t.Fatalf("%v: exit %d, want %d naming %q, %s, --data-dir and %s:\n%s", args, code, exitUsage, reason, path, envDataDir, stderr)
	}
}

// TestDataDirUnderAFile: a data directory that cannot exist (a path
// under a regular file: this fails for root too) makes every command
// that opens the catalog say "not a directory" with the path and how to
// choose another, read-only or not.
func TestDataDirUnderAFile(t *testing.T) {
	_, org, url := sim(t)
	cfg := dataDirConfig(t, url, org.RootTokens[0])
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, []byte("x"), 0o600)
	data := filepath.Join(file, "sub")
	for _, args := range append(append(append([][]string{}, readOnlyCommands...), writeCommands...), tendCommands...) {
		r := runCLI(t, nil, append(args, "--config", cfg, "--data-dir", data)...)
		wantDataDirReason(t, args, r.code, r.stderr, "not a directory", data)
		assertNoToken(t, org, r)
	}
}

// TestUnwritableDataDir: a data directory the user cannot write (mode
// 0500) makes resync, run and hooks apply say "permission denied" with
// the path instead of "unable to open database file (14)", and so do the
// read-only commands on a catalog there (SQLite must create its -wal and
// -shm files beside it). Root ignores the mode, so as root the commands
// run in a child process as nobody (uid 65534).
func TestUnwritableDataDir(t *testing.T) {
	_, org, url := sim(t)
	cfg := dataDirConfig(t, url, org.RootTokens[0])
	cli := cliAsUser(t)
	withCatalog := filepath.Join(t.TempDir(), "with-catalog")
	empty := filepath.Join(t.TempDir(), "empty")
	for _, d := range []string{withCatalog, empty} {
		os.MkdirAll(d, 0o755)
	}
	// A catalog made by the user (the owner of the directory), then the
	// directory made read-only.
	if code, out := cli("resync", "--config", cfg, "--data-dir", withCatalog); code != 0 {
		t.Fatalf("resync into a writable directory: exit %d\n%s", code, out)
	}
	for _, d := range []string{withCatalog, empty} {
		if err := os.Chmod(d, 0o500); err != nil {
			t.Fatal(err)
		}
		defer os.Chmod(d, 0o755)
	}
	for _, args := range writeCommands {
		code, out := cli(append(args, "--config", cfg, "--data-dir", empty)...)
		wantDataDirReason(t, args, code, out, "permission denied", empty)
	}
	for _, args := range append(append(append([][]string{}, readOnlyCommands...), writeCommands...), tendCommands...) {
		code, out := cli(append(args, "--config", cfg, "--data-dir", withCatalog)...)
		wantDataDirReason(t, args, code, out, "permission denied", withCatalog)
	}
	// validate needs no catalog: it says why it could not read this one.
	if code, out := cli("validate", "--config", cfg, "--data-dir", withCatalog); code != 0 || !strings.Contains(out, "permission denied") ||
		!strings.Contains(out, "raw examples are not used") {
		t.Fatalf("validate: exit %d\n%s", code, out)
	}
}

// cliAsUser runs glsyncd as a user whom file modes bind: in process
// when the test is not root, else in a child process as nobody. It
// returns the exit code and stderr (with stdout).
func cliAsUser(t *testing.T) func(args ...string) (int, string) {
	t.Helper()
	if os.Geteuid() != 0 {
		return func(args ...string) (int, string) {
			r := runCLI(t, nil, args...)
			return r.code, r.stderr + r.stdout
		}
	}
	// The test binary where nobody can run it; the temporary directories
	// the test makes are nobody's.
	bin := filepath.Join(t.TempDir(), "glsyncd.test")
	copyFile(t, os.Args[0], bin, 0o755)
	for _, d := range []string{filepath.Dir(filepath.Dir(bin)), filepath.Dir(bin)} {
		os.Chmod(d, 0o755)
	}
	return func(args ...string) (int, string) {
		for _, a := range args {
			// Directories named are handed to nobody, with their parents
			// made traversable.
			if strings.HasPrefix(a, os.TempDir()) {
				if st, err := os.Stat(a); err == nil && st.IsDir() {
					os.Chown(a, 65534, 65534)
				}
				for p := filepath.Dir(a); p != os.TempDir() && p != "/"; p = filepath.Dir(p) {
					os.Chmod(p, 0o755)
				}
			}
		}
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "GLSYNC_TEST_CHILD=1")
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			// Root without CAP_SETUID (a rootless container): the modes
			// cannot be tested here; TestDataDirUnderAFile still runs.
			t.Skipf("cannot run glsyncd as nobody to test file modes as root: %v", err)
		}
		return cmd.ProcessState.ExitCode(), out.String()
	}
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestReadOnlyCommandsCreateNothing walks the path: a daemon's
// data directory holds the hooks' secrets; `hooks plan --data-dir OTHER`
// (a mistyped or fresh directory) used to create a catalog and a secret
// key there and call every hook's secret unknown, suggesting
// --rotate-secrets, which would lock the daemon out. Now every read-only
// command leaves an empty directory empty (and a missing one missing),
// saying it holds no catalog; on a catalog without a key, none is
// created; and the --rotate-secrets advice says what rotating does to a
// daemon on another data directory.
func TestReadOnlyCommandsCreateNothing(t *testing.T) {
	_, org, url := sim(t)
	cfg := dataDirConfig(t, url, org.RootTokens[0])
	daemonDir := t.TempDir()
	if r := runCLI(t, nil, "hooks", "apply", "--config", cfg, "--data-dir", daemonDir); r.code != 0 {
		t.Fatalf("hooks apply: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	emptyDir := t.TempDir()
	missing := filepath.Join(t.TempDir(), "typo")
	for _, args := range readOnlyCommands {
		r := runCLI(t, nil, append(args, "--config", cfg, "--data-dir", emptyDir)...)
		if r.code != exitUsage || !strings.Contains(r.stderr, emptyDir+" holds no catalog") || !strings.Contains(r.stderr, "nothing was created") {
			t.Fatalf("%v on an empty directory: exit %d\n%s\n%s", args, r.code, r.stdout, r.stderr)
		}
		if args[0] == "hooks" && !strings.Contains(r.stderr, "the data directory of the glsyncd that receives the hooks") {
			t.Fatalf("hooks plan does not say which data directory it needs:\n%s", r.stderr)
		}
		if strings.Contains(r.stdout+r.stderr, "rotate-secrets") {
			t.Fatalf("%v suggests rotating secrets on an empty directory:\n%s\n%s", args, r.stdout, r.stderr)
		}
		if r := runCLI(t, nil, append(args, "--config", cfg, "--data-dir", missing)...); r.code != exitUsage {
			t.Fatalf("%v on a missing directory: exit %d\n%s", args, r.code, r.stderr)
		}
	}
	// validate reads a catalog when there is one, and needs none.
	if r := runCLI(t, nil, "validate", "--config", cfg, "--data-dir", emptyDir); r.code != 0 {
		t.Fatalf("validate: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if r := runCLI(t, nil, "validate", "--config", cfg, "--data-dir", missing); r.code != 0 {
		t.Fatalf("validate on a missing directory: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if ents, _ := os.ReadDir(emptyDir); len(ents) != 0 {
		t.Fatalf("read-only commands created %v in the data directory", ents)
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Fatal("a read-only command created the data directory")
	}

	// A catalog of another directory, without a key: read, never keyed.
	other := t.TempDir()
	s, err := sqlitestore.Open(other)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	for _, args := range readOnlyCommands[:3] {
		runCLI(t, nil, append(args, "--config", cfg, "--data-dir", other)...)
	}
	if _, err := os.Stat(filepath.Join(other, stores.KeyFile)); !os.IsNotExist(err) {
		t.Fatal("a read-only command created a secret key")
	}
	r := runCLI(t, nil, "hooks", "plan", "--config", cfg, "--data-dir", other)
	if r.code != exitFailed || !strings.Contains(r.stdout, "--rotate-secrets") ||
		!strings.Contains(r.stdout, "stored only where the command runs") || !strings.Contains(r.stdout, "refuses the hook's deliveries") {
		t.Fatalf("hooks plan on another catalog: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	// The daemon's own directory still holds its hooks' secrets.
	if r := runCLI(t, nil, "hooks", "plan", "--config", cfg, "--data-dir", daemonDir); r.code != 0 || !strings.Contains(r.stdout, "0 change(s), 0 problem(s)") {
		t.Fatalf("hooks plan on the daemon's directory: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}
