// Package storetest is the contract every catalog.Backend keeps, as one
// table of cases that the SQLite and the PostgreSQL store both run.
package storetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
)

// Opener prepares an empty backend for a test and returns a function that
// opens it (again: a second call is a second process on the same data).
// The suite closes what it opens.
type Opener func(t *testing.T) (open func() catalog.Backend)

// Case is one contract test.
type Case struct {
	Name string
	Run  func(t *testing.T, open func() catalog.Backend)
}

// Run runs every case against the backend opener makes.
func Run(t *testing.T, opener Opener) {
	for _, c := range Cases {
		t.Run(c.Name, func(t *testing.T) {
			open := opener(t)
			c.Run(t, func() catalog.Backend {
				b := open()
				t.Cleanup(func() { b.Close() })
				return b
			})
		})
	}
}

func ent(id, title string) *catalog.Entity {
	return &catalog.Entity{Blueprint: "service", Identifier: id, Title: title,
		Properties: map[string]any{"url": "http://x/" + id}, Relations: map[string]any{"group": "1"}}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// lead makes b's replica the leader (the SQLite store always leads).
func lead(t *testing.T, b catalog.Backend) {
	t.Helper()
	_, release, leader, ok, err := b.Coordination().TryLead(context.Background())
	if err != nil || !ok {
		t.Fatalf("TryLead: ok=%v leader=%q err=%v", ok, leader, err)
	}
	t.Cleanup(release)
}

func claimOne(t *testing.T, b catalog.Backend) *catalog.Event {
	t.Helper()
	got, err := b.Claim(context.Background(), 1, 0, time.Minute)
	if err != nil || len(got) != 1 {
		t.Fatalf("claim: %d events, %v", len(got), err)
	}
	return got[0]
}

// Cases are the contract, by topic: each file of this package holds one
// topic's table.
var Cases = slices.Concat(entityCases, queueCases, coordinationCases, browseCases)

func keysOf(ents []*catalog.Entity) []string {
	out := make([]string, len(ents))
	for i, e := range ents {
		out[i] = e.Blueprint + "/" + e.Identifier
	}
	return out
}
