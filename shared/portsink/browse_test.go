package portsink_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
)

// In Port mode the console reads the mirror, through the mirror or the
// sink alike: its counts are Port's, a search finds what the resync
// wrote, and an event forwarded to Port and committed to the mirror is
// named as the entity's last change and in the delivery log.
func TestBrowserReadsThePortMirror(t *testing.T) {
	ctx := context.Background()
	e := setup(t)
	if err := e.resync(t).Err(); err != nil {
		t.Fatal(err)
	}
	inPort := map[string]int{}
	for _, x := range e.port.Entities() {
		inPort[x.Blueprint]++
	}
	project := e.gl.Projects()[5]
	key := catalog.Key{Blueprint: "service", Identifier: project.PathWithNamespace}
	for name, br := range map[string]catalog.Browser{"mirror": e.mirror, "sink": e.sink} {
		counts, err := br.BlueprintCounts(ctx)
		if err != nil || fmt.Sprint(counts) != fmt.Sprint(inPort) {
			t.Fatalf("%s: counts %v, %v; Port holds %v", name, counts, err, inPort)
		}
		page, err := br.Page(ctx, catalog.PageQuery{Blueprint: "service", Search: strings.ToUpper(project.PathWithNamespace)})
		if err != nil || len(page.Entities) != 1 || page.Entities[0].Key() != key {
			t.Fatalf("%s: search for %s: %v, %v", name, project.PathWithNamespace, keys(page.Entities), err)
		}
		_, p, ok, err := br.Entity(ctx, key)
		if err != nil || !ok || p.Kind != "project" || !strings.HasPrefix(p.ChangedBy, "resync ") || p.ChangedAt.IsZero() {
			t.Fatalf("%s: provenance of %v: %+v %v %v", name, key, p, ok, err)
		}
	}
	// A webhook event in Port mode: forwarded to Port, then committed to
	// the mirror with the event's removal from the queue.
	ev := &catalog.Event{Delivery: "port-d1", Type: "Push Hook", Object: fmt.Sprint("project:", project.ID), Body: []byte(`{}`), ReceivedAt: time.Now()}
	if _, err := e.mirror.Enqueue(ctx, ev); err != nil {
		t.Fatal(err)
	}
	evs, err := e.mirror.Claim(ctx, 1, 0, time.Minute)
	if err != nil || len(evs) != 1 {
		t.Fatalf("claim: %v %v", evs, err)
	}
	changed := &catalog.Entity{Blueprint: "service", Identifier: project.PathWithNamespace, Properties: map[string]any{"tier": "gold"},
		Version: time.Now().UnixNano(), Origin: project.PathWithNamespace + ":port.yml"}
	ch := catalog.Changes{Upserts: map[string][]*catalog.Entity{"gitops": {changed}}}
	if err := e.sink.ApplyEvent(ctx, ch); err != nil {
		t.Fatal(err)
	}
	if err := e.mirror.Complete(ctx, evs[0], ch); err != nil {
		t.Fatal(err)
	}
	if got := e.portIDs("service")[project.PathWithNamespace]; got.Properties["tier"] != "gold" {
		t.Fatalf("Port did not get the event's change: %+v", got)
	}
	_, p, ok, err := e.sink.Entity(ctx, key)
	if err != nil || !ok || p.ChangedBy != "event Push Hook port-d1" || p.Kind != "gitops" || p.Source != project.PathWithNamespace+":port.yml" {
		t.Fatalf("provenance after the event: %+v %v %v", p, ok, err)
	}
	rs, err := e.sink.RecentDeliveries(ctx, 5)
	if err != nil || len(rs) != 1 || rs[0].Delivery != "port-d1" || rs[0].Outcome != catalog.OutcomeApplied || rs[0].Replica != e.mirror.Coordination().Replica() {
		t.Fatalf("recent deliveries: %+v %v", rs, err)
	}
}

func keys(ents []*catalog.Entity) []catalog.Key {
	out := make([]catalog.Key, len(ents))
	for i, e := range ents {
		out[i] = e.Key()
	}
	return out
}
