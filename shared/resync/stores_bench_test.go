package resync_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
	"github.com/glsync/terraform-provider-glsync/shared/mapping"
	"github.com/glsync/terraform-provider-glsync/shared/resync"
	"github.com/glsync/terraform-provider-glsync/shared/stores/pgstore"
	"github.com/glsync/terraform-provider-glsync/shared/stores/pgstore/pgtest"
	"github.com/glsync/terraform-provider-glsync/shared/stores/sqlitestore"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// BenchmarkResyncStores runs the same full resync (5,000 projects, the
// default mapping, 20 ms GitLab latency) into the embedded SQLite file
// and into PostgreSQL (a local server), first into an empty catalog and
// then again with nothing changed.
func BenchmarkResyncStores(b *testing.B) {
	_, _, cfg := benchOrg(b, gitlabtest.OrgSpec{Roots: 3, Projects: 5000, Depth: 3, Seed: 42})
	m, err := mapping.Load("")
	if err != nil {
		b.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	open := map[string]func(b *testing.B) catalog.Backend{
		"sqlite": func(b *testing.B) catalog.Backend {
			s, err := sqlitestore.Open(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			return s
		},
		"postgres": func(b *testing.B) catalog.Backend {
			s, err := pgstore.Open(context.Background(), pgtest.URL(b), pgstore.Options{})
			if err != nil {
				b.Fatal(err)
			}
			return s
		},
	}
	for _, name := range []string{"sqlite", "postgres"} {
		for _, pass := range []string{"empty", "unchanged"} {
			b.Run(fmt.Sprintf("store=%s/catalog=%s", name, pass), func(b *testing.B) {
				b.StopTimer()
				var entities int
				for i := 0; i < b.N; i++ {
					store := open[name](b)
					_, release, _, ok, err := store.Coordination().TryLead(context.Background())
					if err != nil || !ok {
						b.Fatalf("lead: %v", err)
					}
					if pass == "unchanged" {
						if _, err := resync.Run(context.Background(), resync.Options{Config: cfg, Mapping: m, Store: store, Logger: log}); err != nil {
							b.Fatal(err)
						}
					}
					b.StartTimer()
					sum, err := resync.Run(context.Background(), resync.Options{Config: cfg, Mapping: m, Store: store, Logger: log})
					b.StopTimer()
					if err != nil || sum.Failed() {
						b.Fatalf("resync: %v %v", err, sum.Err())
					}
					entities = 0
					for _, k := range sum.Kinds {
						entities += k.Created + k.Updated + k.Unchanged
					}
					release()
					store.Close()
				}
				b.ReportMetric(float64(entities), "entities")
			})
		}
	}
}
