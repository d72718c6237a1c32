package events

import (
	"context"
	"testing"

	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
	"github.com/glsync/terraform-provider-glsync/shared/mapping"
	"github.com/glsync/terraform-provider-glsync/shared/selector"
)

// TestEventLeavesSearchIdentifiersToResyncs: a project event under a
// mapping with two resources writes the one with a plain identifier, and
// neither upserts nor deletes anything for the one whose identifier is a
// search query (Port's "map by property"): its changes would be applied
// under the query itself.
func TestEventLeavesSearchIdentifiersToResyncs(t *testing.T) {
	p := processor(t)
	m, err := mapping.Parse([]byte(`
resources:
  - kind: project
    selector: {query: 'true'}
    port: {entity: {mappings: {identifier: .path_with_namespace, blueprint: '"plain"'}}}
  - kind: project
    selector: {query: 'true'}
    port:
      entity:
        mappings:
          identifier:
            combinator: '"and"'
            rules:
              - operator: '"="'
                property: '"pagerduty_service_id"'
                value: .id
          blueprint: '"service"'
`))
	if err != nil {
		t.Fatal(err)
	}
	p.Mapping = m
	var id int64
	var path string
	_, err = p.Sources[0].Projects(context.Background(), func(pg gitlab.Page) error {
		for _, x := range pg.Items {
			if id == 0 {
				id, path = int64(x["id"].(float64)), x["path_with_namespace"].(string)
			}
		}
		return nil
	})
	if err != nil || id == 0 {
		t.Fatalf("no project: %v", err)
	}
	res, _, err := p.projectObj(context.Background(), id, path, "")
	if err != nil {
		t.Fatal(err)
	}
	ups := res.Changes.Upserts[selector.KindProject]
	if len(ups) != 1 || ups[0].Blueprint != "plain" || ups[0].Identifier != path {
		t.Fatalf("upserts %+v, want only the plain entity", ups)
	}
	if len(res.Changes.Deletes) != 0 {
		t.Fatalf("deletes %+v", res.Changes.Deletes)
	}
}
