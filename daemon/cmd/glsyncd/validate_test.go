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
