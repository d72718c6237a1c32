package service

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
	"github.com/glsync/terraform-provider-glsync/shared/mapping"
	"github.com/glsync/terraform-provider-glsync/shared/stores/pgstore/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// replica starts one glsyncd on the harness's simulator and cfg (copied,
// with the replica's name) and returns it with a stop function.
func (h *harness) replica(name string, wl net.Listener) (*Service, func()) {
	h.t.Helper()
	m, err := mapping.Load("")
	if err != nil {
		h.t.Fatal(err)
	}
	cfg := *h.cfg
	cfg.ReplicaName = name
	ctx, cancel := context.WithCancel(context.Background())
	svc, err := Start(ctx, Options{Config: &cfg, Mapping: m, DataDir: h.t.TempDir(), WebhookListener: wl, AdminListen: "127.0.0.1:0",
		Log:    slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})).With("replica", name),
		Client: gitlab.Options{RetryBase: time.Millisecond, RetryMax: 10 * time.Millisecond}, DrainTimeout: 5 * time.Second})
	if err != nil {
		cancel()
		h.t.Fatal(err)
	}
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := svc.Wait(); err != nil {
			h.t.Errorf("%s stopped with %v", name, err)
		}
	}
	h.t.Cleanup(stop)
	return svc, stop
}

func getJSON(t *testing.T, svc *Service, path string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+svc.AdminAddr()+path, nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return out
}

// Two replicas on one database: one leads and resyncs, the other accepts
// deliveries (GitLab's hooks point at it) that either applies, a resync
// asked of the follower runs on the leader, both report the same leader
// and last resync, and when the leader stops the follower takes over.
func TestTwoReplicasOnPostgres(t *testing.T) {
	h := newHarness(t)
	h.cfg.DatabaseURL = pgtest.URL(t)
	h.cfg.Catalog = "postgres"
	h.cfg.WebhookSecret = "replicas-share-this-master-secret"
	// The hooks glsync creates point at replica b's listener.
	h.cfg.AppHost = "http://" + h.wl.Addr().String()
	la, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a, stopA := h.replica("glsync-a", la)
	eventually(t, 15*time.Second, "a leads and finishes the start-up resync", func() bool { return a.LastResync() != nil })
	if a.LastResync().Failed() {
		t.Fatalf("start-up resync failed: %v", a.LastResync().Err())
	}
	b, _ := h.replica("glsync-b", h.wl)
	h.svc = b
	eventually(t, 10*time.Second, "a hook per root", func() bool { return len(h.sim.Hooks()) == len(h.cfg.TokenMapping) })

	st := getJSON(t, b, "/status")
	if st["leader"] != "glsync-a" || st["leading"] != false || st["replica"] != "glsync-b" {
		t.Fatalf("b's status: %v", st)
	}
	if last, _ := st["last_resync"].(map[string]any); last == nil || last["replica"] != "glsync-a" || last["ok"] != true {
		t.Fatalf("b reports a's last resync: %v", st["last_resync"])
	}
	if r := getJSON(t, b, "/readyz"); r["leader"] != "glsync-a" || r["status"] != "ready" {
		t.Fatalf("b's readyz: %v", r)
	}
	if b.LastResync() != nil {
		t.Fatal("the follower ran a resync")
	}

	// A delivery reaches b and the catalog, whoever applies it.
	_, path := h.newProject("ReplicatedService")
	eventually(t, 10*time.Second, "the new project in the catalog", func() bool { return h.entity("service", path) != nil })

	// A resync asked of b runs on a.
	runBefore := a.LastResync().Run
	if c, body := h.admin("POST", "/resync", adminToken); c != http.StatusAccepted {
		t.Fatalf("POST /resync on b: %d %s", c, body)
	}
	eventually(t, 15*time.Second, "the leader ran the requested resync", func() bool {
		l := a.LastResync()
		return l != nil && l.Run > runBefore
	})
	if b.LastResync() != nil {
		t.Fatal("the follower ran the requested resync itself")
	}

	// The leader goes away: b takes over and resyncs.
	stopA()
	took := eventually(t, 15*time.Second, "b leads", func() bool { return b.leading.Load() })
	t.Logf("b took over %s after a stopped", took.Round(time.Millisecond))
	eventually(t, 15*time.Second, "b's take-over resync", func() bool { return b.LastResync() != nil })
	if st := getJSON(t, b, "/status"); st["leader"] != "glsync-b" {
		t.Fatalf("status after take-over: %v", st)
	}
	if n, _ := b.Store().CountEntities(context.Background()); n == 0 {
		t.Fatal("empty catalog")
	}
}
