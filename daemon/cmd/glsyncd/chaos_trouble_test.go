package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
	"github.com/glsync/terraform-provider-glsync/shared/stores/pgstore"
)

// chaosTrouble is the chaos test's phase of ordinary trouble on the live
// path: branches deleted right after they were pushed (what merge
// requests with "delete source branch" do), and one repository whose
// port.yml a committer broke. Every project pushed to reaches the catalog,
// nothing is applied twice, the broken file's push dead-letters only its
// GitOps part (the one dead letter there may be) and the entity the file
// declared before it broke is untouched. It returns that entity's key.
func chaosTrouble(t *testing.T, sim *gitlabtest.Server, store *pgstore.Store, n int) catalog.Key {
	t.Helper()
	ctx := context.Background()
	var spec gitlabtest.ProjectInfo
	var repos []gitlabtest.ProjectInfo
	for _, p := range sim.Projects() {
		if p.EmptyRepo {
			continue
		}
		if spec.ID == 0 {
			spec = p
			continue
		}
		repos = append(repos, p)
	}
	key := catalog.Key{Blueprint: "service", Identifier: "chaos-declared-by-port-yml"}
	accepted := func(ds []gitlabtest.Delivery) {
		for _, d := range ds {
			for tries := 0; d.Status != http.StatusAccepted && d.Status != http.StatusOK; tries++ {
				if tries == 20 {
					t.Fatalf("delivery %s never accepted: %d %v", d.UUID, d.Status, d.Err)
				}
				time.Sleep(200 * time.Millisecond)
				d = sim.Redeliver(ctx, d)
			}
		}
	}
	stored := func() *catalog.Entity {
		ents, err := store.List(ctx, catalog.Filter{Blueprint: key.Blueprint})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			if e.Key() == key {
				return e
			}
		}
		return nil
	}
	accepted(sim.PushFile(ctx, spec.ID, "port.yml", "identifier: "+key.Identifier+"\nblueprint: service\ntitle: Declared in port.yml\n"))
	waitFor(t, 30*time.Second, "the spec file's entity", func() bool { return stored() != nil })
	before, _ := json.Marshal(stored())

	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i := 0; i < n; i++ {
		p := repos[i%len(repos)]
		ref := fmt.Sprintf("refs/heads/topic-%d", i)
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			accepted(sim.PushRef(ctx, p.ID, ref, false))
			accepted(sim.PushRef(ctx, p.ID, ref, true))
		}()
	}
	accepted(sim.PushFile(ctx, spec.ID, "port.yml", "{not: [yaml\n"))
	wg.Wait()

	drained := time.Now().Add(60 * time.Second)
	for depth, err := store.Depth(ctx); err != nil || depth > 0; depth, err = store.Depth(ctx) {
		if time.Now().After(drained) {
			t.Fatalf("the queue did not drain: %d events left (%v):\n%s", depth, err, store.DebugQueue(ctx))
		}
		time.Sleep(50 * time.Millisecond)
	}
	dead, err := store.ListDeadLetters(ctx, 0)
	if err != nil || len(dead) != 1 || dead[0].Attempts != 1 || !strings.HasPrefix(dead[0].LastError, "gitops: ") {
		t.Fatalf("dead letters %+v (%v): want the broken port.yml's GitOps part alone, at its first attempt", dead, err)
	}
	for _, d := range sim.Deliveries() {
		if d.UUID == dead[0].Delivery {
			continue
		}
		if n, err := store.Applied(ctx, d.UUID); err != nil || n != 1 {
			t.Fatalf("delivery %s (%s) applied %d times (%v)", d.UUID, d.Event, n, err)
		}
	}
	if after, _ := json.Marshal(stored()); string(after) != string(before) {
		t.Fatalf("the broken file's entity changed:\n%s\n%s", before, after)
	}
	services, err := store.List(ctx, catalog.Filter{Blueprint: "service"})
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, e := range services {
		have[e.Identifier] = true
	}
	for i, p := range append([]gitlabtest.ProjectInfo{spec}, repos...) {
		if i > n {
			break
		}
		if !have[strings.ReplaceAll(p.PathWithNamespace, " ", "")] {
			t.Fatalf("project %s, pushed to in this phase, is not in the catalog", p.PathWithNamespace)
		}
	}
	t.Logf("%d branches pushed and deleted at once and a broken port.yml: every project pushed to in the catalog, one dead letter (%s)", n, dead[0].LastError)
	return key
}
