package service

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/config"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
	"github.com/glsync/terraform-provider-glsync/shared/mapping"
	"github.com/glsync/terraform-provider-glsync/shared/stores/pgstore/pgtest"
	"github.com/glsync/terraform-provider-glsync/shared/tokenmap"
)

// BenchmarkWebhookIngestReplicas is BenchmarkWebhookIngest on PostgreSQL
// with 1, 2 and 3 replicas (in one process, on one machine: they share
// its 2 cores and the database's, so this measures the queue's
// contention, not added capacity). Deliveries are spread round-robin
// across the replicas; every replica's workers apply them.
func BenchmarkWebhookIngestReplicas(b *testing.B) {
	const events, senders = 2000, 32
	for _, replicas := range []int{1, 2, 3} {
		b.Run(fmt.Sprintf("replicas=%d", replicas), func(b *testing.B) {
			sim := gitlabtest.New(gitlabtest.Options{Seed: 5})
			org := sim.Generate(gitlabtest.OrgSpec{Roots: 1, Projects: 500, Seed: 5})
			ts := sim.Start(b)
			url := pgtest.URL(b)
			var listeners []net.Listener
			for i := 0; i < replicas; i++ {
				l, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					b.Fatal(err)
				}
				listeners = append(listeners, l)
			}
			cfg := &config.Config{
				TokenMapping: tokenmap.Mapping{{Token: org.RootTokens[0], Patterns: []string{"**"}}},
				GitLabHost:   ts.URL, AppHost: "http://" + listeners[0].Addr().String(), MaxConcurrentRequests: 16, MaxRetries: 3,
				WebhookMaxBodyBytes: 25 << 20, EventWorkers: 16, HookReconcileInterval: time.Hour,
				Catalog: "postgres", DatabaseURL: url, WebhookSecret: "bench-replicas-share-this-secret",
			}
			m, _ := mapping.Load("")
			ctx, cancel := context.WithCancel(context.Background())
			var svcs []*Service
			for i := 0; i < replicas; i++ {
				c := *cfg
				c.ReplicaName = fmt.Sprint("replica-", i)
				svc, err := Start(ctx, Options{Config: &c, Mapping: m, DataDir: b.TempDir(), WebhookListener: listeners[i], AdminListen: "127.0.0.1:0",
					Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
				if err != nil {
					b.Fatal(err)
				}
				svcs = append(svcs, svc)
			}
			defer func() {
				cancel()
				for _, s := range svcs {
					_ = s.Wait()
				}
			}()
			for len(sim.Hooks()) == 0 {
				time.Sleep(10 * time.Millisecond)
			}
			sim.SetFaults(gitlabtest.Faults{Latency: 2 * time.Millisecond})
			hook := sim.Hooks()[0]
			var urls []string
			for _, l := range listeners {
				urls = append(urls, strings.Replace(hook.URL, listeners[0].Addr().String(), l.Addr().String(), 1))
			}
			bodies := pushBodies(sim)
			store := svcs[0].Store()
			var lat []time.Duration
			var accepted, processed time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				start := time.Now()
				lat = append(lat, sendDeliveries(b, urls, hook.Token, bodies, fmt.Sprintf("bench-%d-%d", replicas, i), events, senders)...)
				accepted += time.Since(start)
				for {
					n, err := store.Depth(context.Background())
					if err != nil {
						b.Fatal(err)
					}
					if n == 0 {
						break
					}
					time.Sleep(5 * time.Millisecond)
				}
				processed += time.Since(start)
			}
			b.StopTimer()
			reportIngest(b, lat, events*b.N, accepted, processed)
		})
	}
}
