package resync_test

import (
	"bytes"
	"context"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
	"github.com/glsync/terraform-provider-glsync/shared/mapping"
	"github.com/glsync/terraform-provider-glsync/shared/resync"
	"github.com/glsync/terraform-provider-glsync/shared/tokenmap"
)

// scoreMapping has an expression that raises on some projects (tonumber
// on a description that is not a number) and an identifier built from it
// (those projects have no counter entity).
const scoreMapping = `
resources:
  - kind: project
    port:
      entity:
        mappings:
          identifier: .path_with_namespace
          blueprint: '"service"'
          properties:
            name: .name
            score: .description | tonumber
  - kind: project
    port:
      entity:
        mappings:
          identifier: '"counter-" + (.description | tonumber | tostring)'
          blueprint: '"counter"'
`

// TestExpressionErrorsDoNotFailKind: an expression that fails on about
// one project in ten costs that property on those projects (null, as in
// Ocean), and the identifier built from it costs their counter entities;
// the kind completes, the failures are counted per resource and field in
// the summary and its record, logged once, and stale entities are still
// deleted. strictMapping restores the failed kind.
func TestExpressionErrorsDoNotFailKind(t *testing.T) {
	e := newEnv(t, func(org gitlabtest.Org) tokenmap.Mapping {
		return tokenmap.Mapping{{Token: org.RootTokens[0], Patterns: []string{"**"}}}
	})
	bad := map[string]bool{}
	for _, p := range e.sim.Projects() {
		e.sim.UpdateProject(p.ID, func(x *gitlabtest.Project) {
			x.Description = strconv.FormatInt(p.ID, 10)
			if p.ID%10 == 0 {
				x.Description = "n/a"
				bad[p.PathWithNamespace] = true
			}
		})
	}
	m, err := mapping.Parse([]byte(scoreMapping))
	if err != nil {
		t.Fatal(err)
	}
	run := func(m *mapping.Config) (*resync.Summary, *resync.KindSummary) {
		t.Helper()
		sum, err := resync.Run(context.Background(), resync.Options{Config: e.cfg, Mapping: m, Store: e.store,
			Logger: slog.New(slog.NewTextHandler(e.logs, nil)), Client: gitlab.Options{RetryBase: time.Millisecond}})
		if err != nil {
			t.Fatal(err)
		}
		return sum, sum.Kinds[0]
	}
	if sum, _ := run(m); sum.Failed() {
		t.Fatalf("first resync failed: %v", sum.Err())
	}

	// A project removed from GitLab: the next resync deletes its entity.
	var gone gitlabtest.ProjectInfo
	for _, p := range e.sim.Projects() {
		if !bad[p.PathWithNamespace] && strings.HasPrefix(p.PathWithNamespace, e.org.Roots[0].FullPath+"/") {
			gone = p
			break
		}
	}
	e.sim.RemoveProject(gone.ID)
	before := strings.Count(e.logs.String(), "mapping: an expression failed")
	sum, ks := run(m)
	if sum.Failed() || ks.Kind != "project" {
		t.Fatalf("resync failed: %v", sum.Err())
	}
	if ks.Deleted != 2 {
		t.Fatalf("deleted %d entities, want the removed project's service and counter", ks.Deleted)
	}
	services, err := e.store.List(context.Background(), catalog.Filter{Blueprint: "service"})
	if err != nil {
		t.Fatal(err)
	}
	nulls := 0
	for _, s := range services {
		v, ok := s.Properties["score"]
		switch {
		case s.Identifier == gone.PathWithNamespace:
			t.Fatal("the removed project's entity is still in the catalog")
		case !ok:
			t.Fatalf("%s: score missing", s.Identifier)
		case bad[s.Identifier] != (v == nil):
			t.Fatalf("%s: score %v", s.Identifier, v)
		case v == nil:
			nulls++
		}
		if s.Properties["name"] == nil {
			t.Fatalf("%s: name lost", s.Identifier)
		}
	}
	counters, _ := e.store.List(context.Background(), catalog.Filter{Blueprint: "counter"})
	if nulls == 0 || nulls*5 > len(services) || len(counters) != len(services)-nulls {
		t.Fatalf("%d services, %d with a null score, %d counters", len(services), nulls, len(counters))
	}
	if len(ks.ExpressionErrors) != 2 || ks.ExpressionErrorCount() != 2*nulls {
		t.Fatalf("expression errors %+v", ks.ExpressionErrors)
	}
	score, id := ks.ExpressionErrors[0], ks.ExpressionErrors[1]
	if score.Resource != 0 || score.Field != "properties.score" || score.Objects != nulls || score.Skipped || !bad[score.Sample] ||
		!strings.Contains(score.Error, `expression ".description | tonumber"`) {
		t.Fatalf("score %+v", score)
	}
	if id.Resource != 1 || id.Field != "identifier" || id.Objects != nulls || !id.Skipped || !bad[id.Sample] {
		t.Fatalf("identifier %+v", id)
	}
	if n := strings.Count(e.logs.String(), "mapping: an expression failed") - before; n != 2 {
		t.Fatalf("%d log lines for 2 failing fields\n%s", n, e.logs)
	}
	rec := resync.NewRecord(sum, "r", "")
	if !rec.OK || rec.Kinds["project"]["expression_errors"] != 2*nulls || len(rec.ExpressionErrors["project"]) != 2 {
		t.Fatalf("record %+v", rec)
	}
	var out bytes.Buffer
	resync.PrintExpressionErrors(&out, sum)
	if !strings.Contains(out.String(), "expression errors: "+strconv.Itoa(2*nulls)) ||
		!strings.Contains(out.String(), "kind project, resources[0] properties.score: null on "+strconv.Itoa(nulls)+" objects") {
		t.Fatalf("summary:\n%s", out.String())
	}

	strict, err := mapping.ParseWith([]byte(scoreMapping), mapping.ParseOptions{Strict: true})
	if err != nil {
		t.Fatal(err)
	}
	sum, ks = run(strict)
	if !sum.Failed() || ks.Deleted != 0 || !strings.Contains(sum.Err().Error(), `port.entity.mappings.properties.score: expression ".description | tonumber"`) {
		t.Fatalf("strict: failed %v, deleted %d: %v", sum.Failed(), ks.Deleted, sum.Err())
	}
}
