// Package pgtest gives tests a real PostgreSQL server: a throwaway cluster
// started from the machine's PostgreSQL binaries (initdb, pg_ctl) in a
// temporary directory on a free loopback port, or the server named by
// GLSYNC_TEST_DATABASE_URL. Each test gets a database of its own.
//
// A package that uses it calls Main from its TestMain, so the cluster is
// stopped when the tests end. Without PostgreSQL the tests are skipped
// with a message saying how to get it, unless GLSYNC_REQUIRE_POSTGRES=1
// (CI), which turns the skip into a failure.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Environment variables.
const (
	// EnvURL points the tests at an existing server (a role that may
	// create databases).
	EnvURL = "GLSYNC_TEST_DATABASE_URL"
	// EnvRequire makes a missing PostgreSQL a test failure.
	EnvRequire = "GLSYNC_REQUIRE_POSTGRES"
)

var (
	once     sync.Once
	cluster  *Cluster
	startErr error
	dbSeq    atomic.Int64
)

// Cluster is a running throwaway PostgreSQL.
type Cluster struct {
	// URL connects to the "postgres" database as a superuser.
	URL  string
	dir  string
	bin  string
	as   *user.User
	port int
}

// Main runs the package's tests and stops the cluster afterwards.
func Main(m *testing.M) {
	code := m.Run()
	if cluster != nil {
		cluster.Stop()
	}
	os.Exit(code)
}

// Server returns the shared cluster, starting it on first use. It skips
// (or, under GLSYNC_REQUIRE_POSTGRES=1, fails) the test when PostgreSQL
// is not available.
func Server(t testing.TB) *Cluster {
	t.Helper()
	once.Do(func() {
		if u := os.Getenv(EnvURL); u != "" {
			cluster = &Cluster{URL: u}
			return
		}
		cluster, startErr = Start()
	})
	if startErr != nil {
		msg := fmt.Sprintf("PostgreSQL tests need a server: %v. Install PostgreSQL's server binaries "+
			"(Debian: apt-get install postgresql; initdb and pg_ctl on PATH or in /usr/lib/postgresql/*/bin) "+
			"or set %s=postgres://user:pass@host/db", startErr, EnvURL)
		if os.Getenv(EnvRequire) == "1" {
			t.Fatal(msg)
		}
		t.Skip("SKIPPED: " + msg)
	}
	return cluster
}

// URL creates a fresh, empty database for the test and returns its URL.
func URL(t testing.TB) string {
	t.Helper()
	c := Server(t)
	name := fmt.Sprintf("glsync_test_%d_%d", os.Getpid(), dbSeq.Add(1))
	if err := c.exec(context.Background(), "CREATE DATABASE "+name); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return WithDatabase(c.URL, name)
}

// WithDatabase returns url naming database db instead.
func WithDatabase(url, db string) string {
	base, query, _ := strings.Cut(url, "?")
	if i := strings.LastIndex(base, "/"); i > len("postgres://") {
		base = base[:i]
	}
	out := base + "/" + db
	if query != "" {
		out += "?" + query
	}
	return out
}

func (c *Cluster) exec(ctx context.Context, sql string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.URL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}

// binDir finds PostgreSQL's server binaries.
func binDir() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		if _, err := exec.LookPath("pg_ctl"); err == nil {
			return filepath.Dir(p), nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	for i := len(dirs) - 1; i >= 0; i-- {
		if _, err := os.Stat(filepath.Join(dirs[i], "initdb")); err == nil {
			return dirs[i], nil
		}
	}
	return "", errors.New("initdb and pg_ctl not found")
}

// Start starts a new cluster (the caller stops it). initdb refuses to run
// as root, so as root it runs as the postgres user (or glsynctest, which
// it creates when there is no postgres user).
func Start() (*Cluster, error) {
	bin, err := binDir()
	if err != nil {
		return nil, err
	}
	c := &Cluster{bin: bin}
	if os.Geteuid() == 0 {
		if c.as, err = unprivileged(); err != nil {
			return nil, err
		}
	}
	if c.dir, err = os.MkdirTemp("", "glsync-pg-"); err != nil {
		return nil, err
	}
	if c.as != nil {
		uid, _ := strconv.Atoi(c.as.Uid)
		gid, _ := strconv.Atoi(c.as.Gid)
		if err := os.Chown(c.dir, uid, gid); err != nil {
			return nil, err
		}
	}
	if c.port, err = freePort(); err != nil {
		return nil, err
	}
	data := filepath.Join(c.dir, "data")
	if out, err := c.run("initdb", "-D", data, "-U", "glsync", "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C"); err != nil {
		return nil, fmt.Errorf("initdb: %w: %s", err, out)
	}
	if err := c.start(); err != nil {
		return nil, err
	}
	c.URL = fmt.Sprintf("postgres://glsync@127.0.0.1:%d/postgres?sslmode=disable", c.port)
	return c, nil
}

// Port is the cluster's TCP port.
func (c *Cluster) Port() int { return c.port }

// Stop stops the cluster and removes its files.
func (c *Cluster) Stop() {
	if c.dir == "" {
		return
	}
	_, _ = c.run("pg_ctl", "-D", filepath.Join(c.dir, "data"), "-m", "immediate", "-w", "stop")
	_ = os.RemoveAll(c.dir)
}

// Restart stops the server (fast shutdown: clients are disconnected at
// once, nothing committed is lost) and starts it again on the same port
// after down (chaos tests: the database going away under load). The
// cluster runs without synchronous commit for speed, so an immediate
// (crash) stop could lose acknowledged commits; a real server would not.
func (c *Cluster) Restart(down time.Duration) error {
	if c.dir == "" {
		return errors.New("pgtest: cannot restart a server named by " + EnvURL)
	}
	data := filepath.Join(c.dir, "data")
	if out, err := c.run("pg_ctl", "-D", data, "-m", "fast", "-w", "stop"); err != nil {
		return fmt.Errorf("pg_ctl stop: %w: %s", err, out)
	}
	time.Sleep(down)
	return c.start()
}

// start starts the server on the cluster's port (fast and unsafe: the
// data is throwaway), with its log in the cluster's directory.
func (c *Cluster) start() error {
	opts := fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -k %s -c fsync=off -c full_page_writes=off -c synchronous_commit=off -c max_connections=300", c.port, c.dir)
	if out, err := c.run("pg_ctl", "-D", filepath.Join(c.dir, "data"), "-o", opts, "-l", filepath.Join(c.dir, "log"), "-w", "-t", "60", "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(c.dir, "log"))
		return fmt.Errorf("pg_ctl start: %w: %s %s", err, out, log)
	}
	return nil
}

func (c *Cluster) run(name string, args ...string) ([]byte, error) {
	path := filepath.Join(c.bin, name)
	var cmd *exec.Cmd
	if c.as != nil {
		cmd = exec.Command("runuser", append([]string{"-u", c.as.Username, "--", path}, args...)...)
	} else {
		cmd = exec.Command(path, args...)
	}
	cmd.Dir = os.TempDir()
	return cmd.CombinedOutput()
}

func unprivileged() (*user.User, error) {
	for _, name := range []string{"postgres", "glsynctest"} {
		if u, err := user.Lookup(name); err == nil {
			return u, nil
		}
	}
	if out, err := exec.Command("useradd", "--system", "--no-create-home", "glsynctest").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb cannot run as root and no postgres user exists; useradd glsynctest: %w: %s", err, out)
	}
	return user.Lookup("glsynctest")
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
