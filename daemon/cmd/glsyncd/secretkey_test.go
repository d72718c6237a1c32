package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Replicas on PostgreSQL that create hooks need the shared secretKey to
// seal the hooks' secrets: without it they used to pass /readyz and then
// fail every hook. validate and run refuse such a configuration at once,
// with the usage exit code, naming the setting and its variable.
func TestSecretKeyRequiredOnPostgresWithAppHost(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	os.WriteFile(cfg, []byte("tokenMapping:\n  glpat-QXbeg-Ev9xtu5_5FsaAQ: ['**']\nappHost: https://glsync.example.com\ncatalog: postgres\n"), 0o600)
	wantMsg := func(t *testing.T, code int, out string) {
		t.Helper()
		if code != exitUsage || !strings.Contains(out, "config: secretKey: is required") || !strings.Contains(out, "GLSYNC_SECRET_KEY") {
			t.Fatalf("exit %d, want %d naming secretKey and GLSYNC_SECRET_KEY:\n%s", code, exitUsage, out)
		}
	}

	r := runCLI(t, nil, "validate", "--config", cfg)
	wantMsg(t, r.code, r.stderr)

	// run, as a process: it must stop before it touches the database (the
	// URL points nowhere; trying it would hang or fail otherwise).
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "run", "--config", cfg, "--data-dir", filepath.Join(dir, "data"),
		"--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "GLSYNC_TEST_CHILD=1", "GLSYNC_DATABASE_URL=postgres://glsync:pw@127.0.0.1:1/glsync?connect_timeout=1", "GLSYNC_SECRET_KEY=", "GLSYNC_WEBHOOK_SECRET=")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("run: %v\n%s", err, out)
	}
	wantMsg(t, ee.ExitCode(), string(out))

	// With the key (from the environment, as the chart passes it) or a
	// webhookSecret, the same configuration is valid; the key never shows.
	const key = "q0Jp4Vq3v1cSx5zC0o2dVdl9m7t7k1yYF8aH0aP2cQs="
	r = runCLI(t, map[string]string{"GLSYNC_SECRET_KEY": key}, "validate", "--config", cfg)
	if r.code != exitOK || strings.Contains(r.stdout+r.stderr, key) {
		t.Fatalf("validate with GLSYNC_SECRET_KEY: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = runCLI(t, map[string]string{"GLSYNC_WEBHOOK_SECRET": "replicas-share-this-secret"}, "validate", "--config", cfg)
	if r.code != exitOK {
		t.Fatalf("validate with GLSYNC_WEBHOOK_SECRET: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}
