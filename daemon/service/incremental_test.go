package service

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// With appHost set, scheduled and requested resyncs are incremental
// (incrementalResync auto); POST /resync?full=true runs a full pass.
func TestResyncsIncrementalUnlessFullAsked(t *testing.T) {
	h := newHarness(t)
	h.cfg.IncrementalResync = "auto"
	h.cfg.FullResyncInterval = 24 * time.Hour
	h.startWith([]byte(`resources:
  - kind: project
    selector: {query: 'true'}
    port: {entity: {mappings: {identifier: .path_with_namespace, title: .name, blueprint: '"service"'}}}
  - kind: tag
    selector: {query: 'true'}
    port: {entity: {mappings: {identifier: '.__project.path_with_namespace + ":" + .name', title: .name, blueprint: '"gitlabTag"'}}}
`))
	tagPasses := func() []string {
		var out []string
		for _, l := range strings.Split(h.logs.String(), "\n") {
			if strings.Contains(l, `msg="resync of kind done"`) && strings.Contains(l, "kind=tag") {
				out = append(out, l)
			}
		}
		return out
	}
	eventually(t, 10*time.Second, "the start-up resync", func() bool { return len(tagPasses()) == 1 })
	if l := tagPasses()[0]; !strings.Contains(l, "full=true") {
		t.Fatalf("the first pass must be full: %s", l)
	}
	// The kind's line comes before its resync has finished: until then a
	// request is refused (409).
	eventually(t, 10*time.Second, "POST /resync accepted", func() bool {
		c, _ := h.admin("POST", "/resync", adminToken)
		return c == http.StatusAccepted
	})
	eventually(t, 10*time.Second, "the second resync", func() bool { return len(tagPasses()) == 2 })
	if l := tagPasses()[1]; !strings.Contains(l, "full=false") || !strings.Contains(l, "projects_read=0") {
		t.Fatalf("the second pass must be incremental and read nothing: %s", l)
	}
	eventually(t, 10*time.Second, "POST /resync?full=true accepted", func() bool {
		c, _ := h.admin("POST", "/resync?full=true", adminToken)
		return c == http.StatusAccepted
	})
	eventually(t, 10*time.Second, "the full resync", func() bool { return len(tagPasses()) == 3 })
	if l := tagPasses()[2]; !strings.Contains(l, "full=true") || !regexp.MustCompile(`trigger="admin API \(request [0-9a-f]{16}\) \(full\)"`).MatchString(h.logs.String()) {
		t.Fatalf("POST /resync?full=true must run a full pass: %s", l)
	}
}
