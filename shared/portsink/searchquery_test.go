package portsink_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
	"github.com/glsync/terraform-provider-glsync/shared/portsink"
	"github.com/glsync/terraform-provider-glsync/shared/resync"
)

// TestSearchQueryRelationSentEvaluated: a relation written as Port's docs
// write a search query (every part jq) reaches Port as the query
// evaluated on the object, which Port resolves.
func TestSearchQueryRelationSentEvaluated(t *testing.T) {
	e := setup(t)
	mp := filepath.Join(t.TempDir(), "mapping.yml")
	os.WriteFile(mp, []byte(`resources:
  - kind: project
    selector: {query: 'true'}
    port:
      entity:
        mappings:
          identifier: .path_with_namespace
          blueprint: '"service"'
          relations:
            group:
              combinator: '"and"'
              rules:
                - property: '"$identifier"'
                  operator: '"="'
                  value: .namespace.id | tostring
`), 0o600)
	sink, m, err := portsink.SetupWith(context.Background(), e.cfg, e.client, e.mirror, mp, e.log)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := resync.Run(context.Background(), resync.Options{Config: e.cfg, Mapping: m, Store: sink, Logger: e.log,
		Client: gitlab.Options{RetryBase: time.Millisecond}})
	if err != nil || sum.Failed() {
		t.Fatalf("%v %v", err, sum.Err())
	}
	services := e.portIDs("service")
	p := e.gl.Projects()[0]
	s, ok := services[p.PathWithNamespace]
	if !ok {
		t.Fatalf("%s not in Port", p.PathWithNamespace)
	}
	got, _ := json.Marshal(s.Relations["group"])
	want := `{"combinator":"and","rules":[{"operator":"=","property":"$identifier","value":"` + jsonID(p.NamespaceID) + `"}]}`
	if string(got) != want {
		t.Fatalf("relation sent to Port %s\nwant %s", got, want)
	}
}

func jsonID(id int64) string { b, _ := json.Marshal(id); return string(b) }
