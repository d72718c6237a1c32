package service

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestExpressionErrorsInStatusAndEvents: with an expression that fails
// (tonumber on the simulator's descriptions, which are text), the
// start-up resync completes, /status shows the failing field with its
// count and a sample object, the metrics count it, and a webhook event
// maps its project the same way: written, the field null.
func TestExpressionErrorsInStatusAndEvents(t *testing.T) {
	h := newHarness(t)
	h.startWith([]byte(`resources:
  - kind: project
    port:
      entity:
        mappings:
          identifier: .path_with_namespace
          blueprint: '"service"'
          properties:
            name: .name
            score: .description | tonumber
`))
	var last map[string]any
	eventually(t, 10*time.Second, "the start-up resync in /status", func() bool {
		_, body := h.admin("GET", "/status", adminToken)
		var st map[string]any
		_ = json.Unmarshal([]byte(body), &st)
		last, _ = st["last_resync"].(map[string]any)
		return last != nil
	})
	if last["ok"] != true {
		t.Fatalf("resync not ok: %v", last)
	}
	byKind, _ := last["expression_errors"].(map[string]any)
	list, _ := byKind["project"].([]any)
	first, _ := func() (map[string]any, bool) {
		if len(list) != 1 {
			return nil, false
		}
		m, ok := list[0].(map[string]any)
		return m, ok
	}()
	if first == nil || first["field"] != "properties.score" || first["expression"] != ".description | tonumber" ||
		first["objects"].(float64) < 50 || first["sample_object"] == "" {
		t.Fatalf("/status expression_errors: %v", last["expression_errors"])
	}
	if kinds, _ := last["kinds"].(map[string]any); kinds["project"].(map[string]any)["expression_errors"] != first["objects"] {
		t.Fatalf("/status kinds: %v", last["kinds"])
	}
	_, m := h.admin("GET", "/metrics", "")
	if !strings.Contains(m, `glsync_resync_expression_errors{kind="project"}`) {
		t.Fatal("/metrics lacks glsync_resync_expression_errors")
	}

	_, pwn := h.newProject("ScoredService")
	eventually(t, 5*time.Second, "the pushed project, its score null", func() bool {
		e := h.entity("service", pwn)
		if e == nil {
			return false
		}
		v, ok := e.Properties["score"]
		return ok && v == nil && e.Properties["name"] == "ScoredService"
	})
	_, m = h.admin("GET", "/metrics", "")
	if !strings.Contains(m, `glsync_event_expression_errors_total{field="properties.score",kind="project"}`) {
		t.Fatal("/metrics lacks the event's expression error")
	}
	if !strings.Contains(h.logs.String(), "object="+pwn) {
		t.Fatal("the event's failure is not logged with its object")
	}
}
