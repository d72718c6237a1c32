package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
	"github.com/glsync/terraform-provider-glsync/shared/stores/pgstore"
	"github.com/glsync/terraform-provider-glsync/shared/stores/pgstore/pgtest"
)

// EnvChaosDeliveries sets how many deliveries the replica chaos test
// sends (make chaos: 10,000; CI: the default).
const EnvChaosDeliveries = "GLSYNC_CHAOS_DELIVERIES"

// cluster is three glsyncd run processes on one PostgreSQL database
// behind a load balancer that, like a Kubernetes Service, sends each
// delivery to a live replica.
type cluster struct {
	t        *testing.T
	args     [][]string
	env      [][]string
	mu       sync.Mutex
	procs    []*child
	hooks    []string
	admins   []string
	killed   atomic.Int64
	restarts atomic.Int64
	// down makes the balancer answer 503 to every delivery, as a Service
	// with no ready endpoint does when every replica is down at once.
	down atomic.Bool
}

func (c *cluster) start(i int) {
	cmd := exec.Command(os.Args[0], c.args[i]...)
	cmd.Env = append(append(os.Environ(), "GLSYNC_TEST_CHILD=1"), c.env[i]...)
	out := &lockedBuffer{}
	var w io.Writer = out
	// GLSYNC_CHAOS_LOGDIR keeps every replica's whole log, across restarts.
	if dir := os.Getenv("GLSYNC_CHAOS_LOGDIR"); dir != "" {
		if f, err := os.OpenFile(filepath.Join(dir, fmt.Sprintf("replica-%d.log", i)), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644); err == nil {
			c.t.Cleanup(func() { f.Close() })
			w = io.MultiWriter(out, f)
		}
	}
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	c.mu.Lock()
	c.procs[i] = &child{cmd, out}
	c.mu.Unlock()
}

// kill SIGKILLs replica i (no shutdown, no drain).
func (c *cluster) kill(i int) {
	c.mu.Lock()
	p := c.procs[i]
	c.mu.Unlock()
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	_ = p.cmd.Wait()
	c.killed.Add(1)
}

func (c *cluster) stopAll() {
	for i := range c.procs {
		c.mu.Lock()
		p := c.procs[i]
		c.mu.Unlock()
		if p != nil && p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Signal(syscall.SIGTERM)
			_ = p.cmd.Wait()
		}
	}
}

// status reads replica i's GET /status ("" fields when it does not answer).
func (c *cluster) status(i int) map[string]any {
	req, _ := http.NewRequest(http.MethodGet, "http://"+c.admins[i]+"/status", nil)
	req.Header.Set("Authorization", "Bearer t0ken-for-admin-never-logged-8Kq2vX7mZp")
	cl := &http.Client{Timeout: 2 * time.Second}
	resp, err := cl.Do(req)
	if err != nil {
		return map[string]any{}
	}
	defer resp.Body.Close()
	var st map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&st)
	return st
}

// leader is the index of the replica that says it leads, or -1.
func (c *cluster) leader() int {
	for i := range c.admins {
		if c.status(i)["leading"] == true {
			return i
		}
	}
	return -1
}

// balancer forwards each delivery to a live replica, starting from a
// random one and moving on when a replica refuses the connection or dies
// mid-request; with none live it answers 503, as a Service with no ready
// endpoint does.
func (c *cluster) balancer() *httptest.Server {
	client := &http.Client{Timeout: 30 * time.Second}
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if c.down.Load() {
			http.Error(w, "no replica is ready", http.StatusServiceUnavailable)
			return
		}
		first := rand.IntN(len(c.hooks))
		for k := range c.hooks {
			target := c.hooks[(first+k)%len(c.hooks)]
			req, _ := http.NewRequestWithContext(r.Context(), r.Method, "http://"+target+r.URL.Path, bytes.NewReader(body))
			req.Header = r.Header.Clone()
			resp, err := client.Do(req)
			if err != nil {
				continue
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			w.WriteHeader(resp.StatusCode)
			_, _ = w.Write(b)
			return
		}
		http.Error(w, "no replica answered", http.StatusServiceUnavailable)
	}))
}

// TestChaosReplicasOnPostgres runs three replicas on one database and
// sends deliveries spread across them while replicas are SIGKILLed and
// restarted at random; then has no replica answer until GitLab pauses the
// hook; then kills the leader in the middle of a resync; then restarts
// the database under load. Afterwards every accepted
// delivery was applied exactly once (the queue counts applications in
// the transaction that commits them) and none went to the dead letters.
// Then branches are deleted right after their push and a committer breaks
// a port.yml: only that file's GitOps part is dead-lettered, its entity
// stays. Last, a resync finds nothing to change: the catalog equals a
// clean resync.
func TestChaosReplicasOnPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three daemons and a PostgreSQL cluster")
	}
	deliveries := 600
	if v, err := strconv.Atoi(os.Getenv(EnvChaosDeliveries)); err == nil && v > 0 {
		deliveries = v
	}
	ctx := context.Background()
	pg := pgtest.Server(t)
	url := pgtest.URL(t)
	sim := gitlabtest.New(gitlabtest.Options{Seed: 51})
	org := sim.Generate(gitlabtest.OrgSpec{Roots: 1, Projects: 80, Seed: 51})
	ts := sim.Start(t)

	c := &cluster{t: t, procs: make([]*child, 3)}
	lb := c.balancer()
	defer lb.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("gitlabHost: %s\nappHost: %s\nadminToken: t0ken-for-admin-never-logged-8Kq2vX7mZp\nwebhookSecret: chaos-replicas-share-this-secret\n"+
		"eventWorkers: 4\ncatalog: postgres\ntokenMapping:\n  %s: ['**']\n", ts.URL, lb.URL, org.RootTokens[0])), 0o600)
	for i := 0; i < 3; i++ {
		hook, admin := stableAddr(t), stableAddr(t)
		c.hooks, c.admins = append(c.hooks, hook), append(c.admins, admin)
		c.args = append(c.args, []string{"run", "--config", cfg, "--data-dir", filepath.Join(dir, fmt.Sprint("d", i)), "--listen", hook, "--admin-listen", admin, "--log-format", "json"})
		c.env = append(c.env, []string{"GLSYNC_DATABASE_URL=" + url, fmt.Sprintf("GLSYNC_REPLICA_NAME=replica-%d", i)})
		c.start(i)
	}
	defer c.stopAll()
	defer func() {
		if t.Failed() {
			for i, p := range c.procs {
				var hooks []string
				for _, line := range strings.Split(p.out.String(), "\n") {
					if strings.Contains(line, `"component":"hooks"`) || strings.Contains(line, `"level":"ERROR"`) {
						hooks = append(hooks, line)
					}
				}
				t.Logf("replica-%d hook and error lines:\n%s\noutput (tail):\n%s", i, strings.Join(hooks, "\n"), tail(p.out.String(), 2000))
			}
		}
	}()
	waitFor(t, 30*time.Second, "one hook on the root group", func() bool { return len(sim.Hooks()) == 1 })
	// The managed hook must outlive everything below: replacing it would
	// lose the deliveries GitLab keeps for it (they could not be resent).
	hookID := sim.Hooks()[0].ID
	waitFor(t, 30*time.Second, "the start-up resync", func() bool {
		last, _ := c.status(0)["last_resync"].(map[string]any)
		return last != nil && last["ok"] == true
	})
	store, err := pgstore.Open(ctx, url, pgstore.Options{Replica: "test"})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()

	projects := sim.Projects()
	activity := func(n int) {
		var wg sync.WaitGroup
		var next atomic.Int64
		for w := 0; w < 8; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := next.Add(1); i <= int64(n); i = next.Add(1) {
					p := projects[rand.IntN(len(projects))]
					switch i % 3 {
					case 0:
						sim.Push(ctx, p.ID)
					case 1:
						mr := sim.AddMergeRequest(p.ID, fmt.Sprint("Change ", i))
						sim.MergeRequestEvent(ctx, mr.ID, "open")
					default:
						is := sim.AddIssue(p.ID, fmt.Sprint("Bug ", i), false)
						sim.IssueEvent(ctx, is.ID, "open")
					}
				}
			}()
		}
		wg.Wait()
	}

	// 1. Deliveries while replicas are killed and restarted at random.
	stop := make(chan struct{})
	chaosDone := make(chan struct{})
	go func() {
		defer close(chaosDone)
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Duration(100+rand.IntN(200)) * time.Millisecond):
			}
			i := rand.IntN(3)
			c.kill(i)
			time.Sleep(time.Duration(50+rand.IntN(200)) * time.Millisecond)
			c.start(i)
			c.restarts.Add(1)
		}
	}()
	start := time.Now()
	activity(deliveries)
	close(stop)
	<-chaosDone
	t.Logf("%d deliveries in %s with %d replicas killed and restarted", deliveries, time.Since(start).Round(time.Millisecond), c.killed.Load())

	// 1b. No replica answers for a moment: 4 failed deliveries in a row
	// and GitLab pauses the hook, dropping the next events. The next
	// leader must resume it in place (replacing it would make the failed
	// deliveries impossible to resend) and resync what was dropped.
	c.down.Store(true)
	for i := 0; i < 6; i++ {
		sim.Push(ctx, projects[i].ID)
	}
	c.down.Store(false)
	if hs := sim.Hooks(); len(hs) != 1 || hs[0].AlertStatus != "temporarily_disabled" {
		t.Fatalf("GitLab did not pause the hook after 4 failed deliveries: %+v", hs)
	}

	// 2. The leader is killed in the middle of a resync.
	// The leader is the one the wait saw: asking again could find none,
	// when a loaded machine lets its lease lapse in between.
	var l int
	waitFor(t, 20*time.Second, "a leader", func() bool { l = c.leader(); return l >= 0 })
	sim.SetFaults(gitlabtest.Faults{RouteLatency: map[string]time.Duration{"GET /groups/:id/merge_requests": 2 * time.Second}})
	before, _ := store.CountEntities(ctx)
	req, _ := http.NewRequest(http.MethodPost, "http://"+c.admins[l]+"/resync", nil)
	req.Header.Set("Authorization", "Bearer t0ken-for-admin-never-logged-8Kq2vX7mZp")
	// 409: the leader is already resyncing (a take-over resync), as good.
	if resp, err := http.DefaultClient.Do(req); err != nil || (resp.StatusCode != http.StatusAccepted && resp.StatusCode != http.StatusConflict) {
		t.Fatalf("POST /resync: %v %v", resp, err)
	}
	waitFor(t, 10*time.Second, "the leader resyncing", func() bool { return c.status(l)["resync_running"] == true })
	time.Sleep(500 * time.Millisecond)
	c.kill(l)
	killedAt := time.Now()
	var next int
	waitFor(t, 15*time.Second, "another replica leads", func() bool {
		for i := range c.admins {
			if i != l && c.status(i)["leading"] == true {
				next = i
				return true
			}
		}
		return false
	})
	t.Logf("replica-%d took over %s after the leader was killed mid-resync", next, time.Since(killedAt).Round(time.Millisecond))
	if after, _ := store.CountEntities(ctx); after < before {
		t.Fatalf("the interrupted resync deleted entities: %d → %d", before, after)
	}
	sim.SetFaults(gitlabtest.Faults{})
	waitFor(t, 30*time.Second, "the new leader's resync completes", func() bool {
		last, _ := c.status(next)["last_resync"].(map[string]any)
		return last != nil && last["replica"] == fmt.Sprint("replica-", next) && last["ok"] == true
	})
	c.start(l)

	// 3. The database restarts under load.
	burst := make(chan struct{})
	go func() {
		defer close(burst)
		activity(deliveries / 4)
	}()
	time.Sleep(100 * time.Millisecond)
	if err := pg.Restart(time.Second); err != nil {
		t.Fatal(err)
	}
	<-burst

	// GitLab resends what was not accepted (its "Resend request", with the
	// same UUID); the replicas are all up again.
	waitFor(t, 30*time.Second, "all replicas ready", func() bool {
		for i := range c.admins {
			if c.status(i)["replica"] == nil {
				return false
			}
		}
		return true
	})
	if hs := sim.Hooks(); len(hs) != 1 || hs[0].ID != hookID {
		t.Fatalf("the managed hook %d was replaced or deleted: GitLab now has %+v", hookID, hs)
	}
	accepted := map[string]bool{}
	resent := 0
	byStatus := map[int]int{}
	for _, d := range sim.Deliveries() {
		byStatus[d.Status]++
		if d.Status == http.StatusAccepted || d.Status == http.StatusOK {
			accepted[d.UUID] = true
		}
	}
	for _, d := range sim.Deliveries() {
		var last gitlabtest.Delivery
		for tries := 0; !accepted[d.UUID] && tries < 20; tries++ {
			resent++
			if last = sim.Redeliver(ctx, d); last.Status == http.StatusAccepted || last.Status == http.StatusOK {
				accepted[d.UUID] = true
			} else {
				time.Sleep(200 * time.Millisecond)
			}
		}
		if !accepted[d.UUID] {
			t.Fatalf("delivery %s never accepted: last answer %d %v", d.UUID, last.Status, last.Err)
		}
	}
	if hs := sim.Hooks(); len(hs) != 1 || hs[0].ID != hookID || hs[0].AlertStatus != "executable" {
		t.Fatalf("the managed hook %d was replaced, deleted or left paused: GitLab now has %+v", hookID, hs)
	}
	drained := time.Now().Add(60 * time.Second)
	for n, err := store.Depth(ctx); err != nil || n > 0; n, err = store.Depth(ctx) {
		if time.Now().After(drained) {
			t.Fatalf("the queue did not drain: %d events left (%v):\n%s", n, err, store.DebugQueue(ctx))
		}
		time.Sleep(50 * time.Millisecond)
	}
	for uuid := range accepted {
		n, err := store.Applied(ctx, uuid)
		if err != nil || n != 1 {
			t.Fatalf("delivery %s applied %d times (%v)", uuid, n, err)
		}
	}
	if n, _ := store.DeadLetters(ctx); n != 0 {
		t.Fatalf("%d events in the dead letters", n)
	}
	t.Logf("%d deliveries accepted and applied exactly once (first answers by status: %v; %d resent), %d kills",
		len(accepted), byStatus, resent, c.killed.Load())

	// 4. Ordinary trouble: branches deleted right after their push, and a
	// committer's broken port.yml (chaos_trouble_test.go).
	declared := chaosTrouble(t, sim, store, max(deliveries/20, 10))

	// The catalog equals a clean resync: one finds nothing to change.
	l = -1
	waitFor(t, 15*time.Second, "a leader", func() bool { l = c.leader(); return l >= 0 })
	prev, _ := c.status(l)["last_resync"].(map[string]any)
	req, _ = http.NewRequest(http.MethodPost, "http://"+c.admins[l]+"/resync", nil)
	req.Header.Set("Authorization", "Bearer t0ken-for-admin-never-logged-8Kq2vX7mZp")
	waitFor(t, 10*time.Second, "resync accepted", func() bool {
		resp, err := http.DefaultClient.Do(req)
		return err == nil && resp.StatusCode == http.StatusAccepted
	})
	var last map[string]any
	waitFor(t, 60*time.Second, "the final resync", func() bool {
		last, _ = c.status(l)["last_resync"].(map[string]any)
		return last != nil && last["run"] != prev["run"]
	})
	if last["ok"] != true {
		t.Fatalf("final resync: %v", last)
	}
	// What the broken port.yml declared before stays. (With Ocean v1's
	// default specPath, spec files are applied on pushes only, as Ocean
	// does: the resync does not read them; resync_test's file error cases
	// cover a resync that does.)
	if ents, err := store.List(ctx, catalog.Filter{Blueprint: declared.Blueprint}); err != nil || !slices.ContainsFunc(ents, func(e *catalog.Entity) bool { return e.Key() == declared }) {
		t.Fatalf("the broken port.yml's entity %v is gone after the resync (%v)", declared, err)
	}
	kinds, _ := last["kinds"].(map[string]any)
	for kind, v := range kinds {
		k := v.(map[string]any)
		if k["created"].(float64)+k["updated"].(float64)+k["deleted"].(float64) != 0 {
			t.Errorf("kind %s: the resync after the events changed the catalog: %v", kind, k)
		}
	}
}

// stableAddr is a free loopback address below the kernel's ephemeral
// port range: a replica restarted on it after a SIGKILL must not find it
// taken by some other test's outgoing connection, which an address from
// the ephemeral range (freeAddr) can be under load.
func stableAddr(t *testing.T) string {
	t.Helper()
	low := 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil && n > 2048 {
				low = n
			}
		}
	}
	for i := 0; i < 200; i++ {
		addr := fmt.Sprintf("127.0.0.1:%d", 1024+rand.IntN(low-1024))
		if l, err := net.Listen("tcp", addr); err == nil {
			l.Close()
			return addr
		}
	}
	return freeAddr(t)
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
