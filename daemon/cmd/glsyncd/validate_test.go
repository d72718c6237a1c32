package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// validate tries every expression of the mapping on sample objects: a
// selector.query that can never return a boolean fails validate, not
// the resync once per object; a glob that never matches is a warning.
func TestValidateTriesExpressions(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yml")
	os.WriteFile(bad, []byte(`resources:
  - kind: project
    selector:
      query: '"yes"'
    port:
      entity:
        mappings:
          identifier: .path_with_namespace
          title: .name
          blueprint: '"service"'
          properties:
            url: .web_url
`), 0o600)
	env := func(k string) string {
		if k == "OCEAN__INTEGRATION__CONFIG__TOKEN_MAPPING" {
			return `{"glpat-Base0Token0For0Tests0": ["/globex/**", "**"]}`
		}
		return ""
	}
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"validate", "--mapping", bad, "--data-dir", filepath.Join(dir, "none")}, &out, &errOut, env)
	if code != 2 || !strings.Contains(out.String(), "selector.query") || !strings.Contains(out.String(), "must return a boolean, got string") ||
		!strings.Contains(out.String(), "sample project objects)") || !strings.Contains(errOut.String(), "1 expression(s) fail on the simulator's sample objects") {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errOut.String())
	}
	out.Reset()
	errOut.Reset()
	code = run(context.Background(), []string{"validate", "--data-dir", filepath.Join(dir, "none")}, &out, &errOut, env)
	if code != 0 || !strings.Contains(out.String(), "every expression tried on the simulator's sample objects") ||
		!strings.Contains(out.String(), `pattern "/globex/**" never matches`) {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errOut.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "none")); !os.IsNotExist(err) {
		t.Fatal("validate created a data directory")
	}
}

// TestValidateUnknownHookEvent: glsyncd validate refuses an event name
// hookspec's table does not know, listing the accepted spellings grouped
// by the flag they turn on, and accepts every alias of the table (the
// spec's pipelines_events example, GitLab's job_events, the spec's
// jobs_events) without printing the token.
func TestValidateUnknownHookEvent(t *testing.T) {
	dir := t.TempDir()
	const tok = "glpat-QXbeg-Ev9xtu5_5FsaAQ"
	write := func(name, events string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte("tokenMapping:\n  "+tok+": ['**']\nappHost: https://glsync.example.com\n"+
			"tokenGroupHooksOverrideMapping:\n  "+tok+":\n    groups:\n      acme/devops:\n        events: "+events+"\n"), 0o600)
		return p
	}
	r := runCLI(t, nil, "validate", "--config", write("bad.yaml", `["pipeline_evnts"]`))
	for _, want := range []string{`unsupported event "pipeline_evnts"`, "pipeline_events (also pipelines_events)", "job_events (also jobs_events)",
		"member_events (also user_add_to_group, user_remove_from_group, user_update_for_group)"} {
		if r.code != exitUsage || !strings.Contains(r.stderr, want) {
			t.Fatalf("exit %d, want %d and %q in stderr:\n%s%s", r.code, exitUsage, want, r.stdout, r.stderr)
		}
	}
	r = runCLI(t, nil, "validate", "--config", write("good.yaml", `["pipelines_events", "job_events", "jobs_events", "merge-requests_events"]`))
	if r.code != 0 {
		t.Fatalf("aliases refused: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if strings.Contains(r.stdout+r.stderr, tok) {
		t.Fatalf("the token is printed:\n%s%s", r.stdout, r.stderr)
	}
}
