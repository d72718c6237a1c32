package service

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/config"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
	"github.com/glsync/terraform-provider-glsync/shared/mapping"
	"github.com/glsync/terraform-provider-glsync/shared/tokenmap"
)

// BenchmarkWebhookIngest posts push deliveries (GitLab's payload, headers
// and secret) to a running glsyncd on loopback from 32 concurrent senders
// and measures how fast they are accepted (answered 202 after the durable
// queue write) and how fast the workers turn them into catalog writes,
// each fetching its project from the simulator (2 ms latency).
func BenchmarkWebhookIngest(b *testing.B) {
	const events, senders = 2000, 32
	sim := gitlabtest.New(gitlabtest.Options{Seed: 5})
	org := sim.Generate(gitlabtest.OrgSpec{Roots: 1, Projects: 500, Seed: 5})
	ts := sim.Start(b)
	wl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	cfg := &config.Config{
		TokenMapping: tokenmap.Mapping{{Token: org.RootTokens[0], Patterns: []string{"**"}}},
		GitLabHost:   ts.URL, AppHost: "http://" + wl.Addr().String(), MaxConcurrentRequests: 16, MaxRetries: 3,
		WebhookMaxBodyBytes: 25 << 20, EventWorkers: 16, HookReconcileInterval: time.Hour,
	}
	m, _ := mapping.Load("")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	svc, err := Start(ctx, Options{Config: cfg, Mapping: m, DataDir: b.TempDir(), WebhookListener: wl, AdminListen: "127.0.0.1:0",
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	for len(sim.Hooks()) == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	sim.SetFaults(gitlabtest.Faults{Latency: 2 * time.Millisecond})
	hook := sim.Hooks()[0]
	bodies := pushBodies(sim)
	var lat []time.Duration
	var accepted, processed time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		before := depthProcessed(svc)
		start := time.Now()
		lat = append(lat, sendDeliveries(b, []string{hook.URL}, hook.Token, bodies, fmt.Sprintf("bench-%d", i), events, senders)...)
		accepted += time.Since(start)
		for depthProcessed(svc)-before < events {
			time.Sleep(5 * time.Millisecond)
		}
		processed += time.Since(start)
	}
	b.StopTimer()
	reportIngest(b, lat, events*b.N, accepted, processed)
	cancel()
	_ = svc.Wait()
}

// depthProcessed counts events that left the queue (applied ones).
func depthProcessed(s *Service) int {
	mfs, _ := s.metrics.Registry.Gather()
	total := 0
	for _, mf := range mfs {
		if mf.GetName() != "glsync_events_processed_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			total += int(m.GetCounter().GetValue())
		}
	}
	return total
}

// pushBodies are push payloads for the simulator's projects that have a
// repository.
func pushBodies(sim *gitlabtest.Server) [][]byte {
	var bodies [][]byte
	for _, p := range sim.Projects() {
		if !p.EmptyRepo {
			bodies = append(bodies, []byte(fmt.Sprintf(`{"object_kind":"push","event_name":"push","ref":"refs/heads/main","project_id":%d,"project":{"id":%d,"path_with_namespace":%q}}`,
				p.ID, p.ID, p.PathWithNamespace)))
		}
	}
	return bodies
}

// sendDeliveries posts events push deliveries from senders concurrent
// senders, spread round-robin over urls (a load balancer in front of
// replicas), and returns each delivery's time to its 202.
func sendDeliveries(b *testing.B, urls []string, token string, bodies [][]byte, prefix string, events, senders int) []time.Duration {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: senders}}
	lats := make([]time.Duration, events)
	var wg sync.WaitGroup
	next := make(chan int)
	for s := 0; s < senders; s++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range next {
				req, _ := http.NewRequest(http.MethodPost, urls[n%len(urls)], bytes.NewReader(bodies[n%len(bodies)]))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-Gitlab-Event", "Push Hook")
				req.Header.Set("X-Gitlab-Token", token)
				req.Header.Set("X-Gitlab-Event-UUID", fmt.Sprintf("%s-%d", prefix, n))
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusAccepted {
					b.Errorf("delivery %d: %d", n, resp.StatusCode)
				}
				lats[n] = time.Since(t0)
			}
		}()
	}
	for n := 0; n < events; n++ {
		next <- n
	}
	close(next)
	wg.Wait()
	return lats
}

// reportIngest reports deliveries accepted and processed per second and
// the accept latency's median and 99th percentile.
func reportIngest(b *testing.B, lat []time.Duration, events int, accepted, processed time.Duration) {
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	n := float64(events)
	b.ReportMetric(n/accepted.Seconds(), "accepted/s")
	b.ReportMetric(n/processed.Seconds(), "processed/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-accept-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-accept-ms")
}
