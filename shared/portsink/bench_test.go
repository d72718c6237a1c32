package portsink_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/port"
	"github.com/glsync/terraform-provider-glsync/shared/port/porttest"
	"github.com/glsync/terraform-provider-glsync/shared/portsink"
	"github.com/glsync/terraform-provider-glsync/shared/stores/sqlitestore"
)

// BenchmarkPortWrites writes 1,000 new entities to the Port simulator with
// 30 ms latency per request: through the sink (bulk, 20 per request, 8
// blueprints' worth of batches in sequence) and one entity per request
// (as a naive client would, 8 at a time), reporting entities/s and Port
// requests per 1,000 entities.
func BenchmarkPortWrites(b *testing.B) {
	const n = 1000
	mk := func(prefix string) []*catalog.Entity {
		out := make([]*catalog.Entity, n)
		for i := range out {
			out[i] = &catalog.Entity{Blueprint: "service", Identifier: fmt.Sprintf("%s/svc-%04d", prefix, i), Title: "svc",
				Properties: map[string]any{"url": "https://gitlab.example.com/x", "archived": false}, Relations: map[string]any{"group": "1001"}, Version: 1}
		}
		return out
	}
	for _, mode := range []string{"bulk", "single"} {
		b.Run(mode, func(b *testing.B) {
			ps := porttest.New("id", "secret")
			ps.AddBlueprint("service")
			ts := ps.Start(b)
			ps.SetFaults(porttest.Faults{Latency: 30 * time.Millisecond})
			client, _ := port.New(port.Options{BaseURL: ts.URL, ClientID: "id", ClientSecret: "secret"})
			var total time.Duration
			var requests int
			for i := 0; i < b.N; i++ {
				mirror, err := sqlitestore.Open(b.TempDir())
				if err != nil {
					b.Fatal(err)
				}
				ents := mk(fmt.Sprintf("run%d", i))
				ps.ResetRequests()
				start := time.Now()
				if mode == "bulk" {
					sink := portsink.New(mirror, client, portsink.Options{Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
					run, _ := sink.BeginRun(context.Background())
					if _, err := sink.Upsert(context.Background(), run, "project", ents); err != nil {
						b.Fatal(err)
					}
				} else {
					sem := make(chan struct{}, 8)
					done := make(chan error, n)
					for _, e := range ents {
						sem <- struct{}{}
						go func() {
							defer func() { <-sem }()
							done <- client.Upsert(context.Background(), "service", port.Entity{Identifier: e.Identifier, Title: e.Title, Properties: e.Properties, Relations: e.Relations}, port.UpsertOptions{})
						}()
					}
					for range ents {
						if err := <-done; err != nil {
							b.Fatal(err)
						}
					}
				}
				total += time.Since(start)
				counts, _ := ps.Requests()
				requests = 0
				for route, c := range counts {
					if route != "POST /v1/auth/access_token" {
						requests += c
					}
				}
				mirror.Close()
			}
			b.ReportMetric(float64(n*b.N)/total.Seconds(), "entities/s")
			b.ReportMetric(float64(requests), "requests/1000-entities")
		})
	}
}
