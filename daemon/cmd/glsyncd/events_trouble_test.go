package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
)

// A daemon in the documented form (tokenMapping, so Ocean v1's defaults
// with GitOps on **/port.yml) and a project-only mapping, against
// ordinary trouble on the live path:
//   - a push to a branch deleted right after it (what merge requests with
//     "delete source branch" do all day) is applied at once: no branch is
//     read, nothing is retried;
//   - a committer's broken port.yml writes the project anyway, its GitOps
//     part goes to the dead letters at once with its reason (shown by
//     `glsyncd queue list`), and the project's later events proceed.
func TestDaemonEventsSurviveOrdinaryTrouble(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a daemon in a child process")
	}
	ctx := context.Background()
	sim := gitlabtest.New(gitlabtest.Options{Seed: 31})
	org := sim.Generate(gitlabtest.OrgSpec{Roots: 1, Projects: 30, Seed: 31})
	ts := sim.Start(t)
	hookAddr, adminAddr := freeAddr(t), freeAddr(t)
	dir := t.TempDir()
	cfg, mapFile := filepath.Join(dir, "config.yaml"), filepath.Join(dir, "mapping.yml")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(cfg, []byte(fmt.Sprintf("gitlabHost: %s\nappHost: http://%s\nadminToken: t0ken-for-admin-never-logged-8Kq2vX7mZp\ntokenMapping:\n  %s: ['**']\n",
		ts.URL, hookAddr, org.RootTokens[0])), 0o600))
	must(os.WriteFile(mapFile, []byte(`resources:
  - kind: project
    selector: {query: 'true'}
    port:
      entity:
        mappings: {identifier: .path_with_namespace, title: .name, blueprint: '"service"'}
`), 0o600))
	data := filepath.Join(dir, "data")
	d := startChild(t, "run", "--config", cfg, "--mapping", mapFile, "--data-dir", data, "--listen", hookAddr, "--admin-listen", adminAddr)
	waitFor(t, 30*time.Second, "hook created", func() bool { return len(sim.Hooks()) == 1 })
	waitFor(t, 60*time.Second, "start-up resync", func() bool { return metric(t, adminAddr, `glsync_resync_runs_total{result="ok"} 1`) })

	team := sim.Group(org.Roots[0].FullPath + "/DevopsTeam")
	p := sim.AddProject(team, "RaptorService")
	sim.Push(ctx, p.ID) // the project gets a repository
	waitFor(t, 10*time.Second, "first push applied", func() bool {
		return metric(t, adminAddr, `glsync_events_processed_total{event="Push Hook",outcome="applied"} 1`)
	})

	// The branch is pushed, then deleted before the daemon reads it.
	sim.ResetRequests()
	sim.SetFaults(gitlabtest.Faults{RouteLatency: map[string]time.Duration{"GET /projects/:id": 500 * time.Millisecond}})
	for _, ds := range [][]gitlabtest.Delivery{
		sim.PushRef(ctx, p.ID, "refs/heads/feature", false),
		sim.PushRef(ctx, p.ID, "refs/heads/feature", true),
	} {
		if len(ds) != 1 || ds[0].Status != http.StatusAccepted {
			t.Fatalf("push: %+v", ds)
		}
	}
	waitFor(t, 15*time.Second, "both pushes applied", func() bool {
		return metric(t, adminAddr, `glsync_events_processed_total{event="Push Hook",outcome="applied"} 3`)
	})
	sim.SetFaults(gitlabtest.Faults{})
	if byRoute, _ := sim.Requests(); byRoute["GET /projects/:id/repository/branches/:id"] != 0 || len(byRoute) != 1 {
		t.Fatalf("requests for two pushes with a project-only mapping: %v", byRoute)
	}

	// A committer's broken port.yml, then a later push of the project.
	sim.PushFile(ctx, p.ID, "port.yml", "{not: [yaml\n")
	waitFor(t, 15*time.Second, "the broken file's push dead-lettered at once", func() bool {
		r := runCLI(t, nil, "queue", "list", "--data-dir", data, "-o", "json")
		var listed struct {
			DeadLetters []struct {
				Attempts  int
				LastError string `json:"last_error"`
			} `json:"dead_letters"`
		}
		if json.Unmarshal([]byte(r.stdout), &listed) != nil || len(listed.DeadLetters) != 1 {
			return false
		}
		dl := listed.DeadLetters[0]
		if dl.Attempts != 1 || !strings.HasPrefix(dl.LastError, "gitops: ") {
			t.Fatalf("dead letter %+v", dl)
		}
		return true
	})
	sim.PushFile(ctx, p.ID, "README.md", "later")
	waitFor(t, 15*time.Second, "the later push applied", func() bool {
		return metric(t, adminAddr, `glsync_events_processed_total{event="Push Hook",outcome="applied"} 4`)
	})
	if !strings.Contains(listCatalog(t, dir), team.FullPath+"/RaptorService") {
		t.Fatal("the project is not in the catalog")
	}
	if strings.Contains(d.out.String(), org.RootTokens[0]) {
		t.Fatal("a token appears in the daemon's output")
	}
}
