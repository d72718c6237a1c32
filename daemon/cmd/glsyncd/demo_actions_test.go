package main

import (
	"strings"
	"testing"
)

// TestDemoPortCatalog: demo --catalog port resyncs into the Port
// simulator and shows one action run: the pipeline triggered, its end
// delivered by the Pipeline Hook, the run SUCCESS with Ocean's log lines;
// the Port secret is never printed.
func TestDemoPortCatalog(t *testing.T) {
	r := runCLI(t, nil, "demo", "--catalog", "port", "--projects", "120", "--data-dir", t.TempDir())
	if r.code != 0 {
		t.Fatalf("demo exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"Port simulator on ", "resync 1 ok", "triggered pipeline", "-> Pipeline Hook -> run r_000001 SUCCESS",
		"    Triggering GitLab pipeline for ", "    Pipeline completed: success"} {
		if !strings.Contains(r.stdout, want) {
			t.Fatalf("demo output lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout+r.stderr, demoPortSecret) {
		t.Fatal("the Port secret is printed")
	}
	if r = runCLI(t, nil, "demo", "--catalog", "sqlite"); r.code != 2 || !strings.Contains(r.stderr, `--catalog "sqlite": want embedded or port`) {
		t.Fatalf("unknown catalog: exit %d %s", r.code, r.stderr)
	}
}
