package service

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
	"github.com/glsync/terraform-provider-glsync/shared/mapping"
)

// TestEventsThenResyncChangeNothing is the property that events and
// resyncs agree: random sequences of GitLab activity, each delivered to
// glsyncd as GitLab delivers it, leave the catalog exactly as a resync
// makes it, so the resync that follows creates, updates and deletes
// nothing, for every kind the mapping has. The mapping is the every-kind
// one without per-project caps (a cap ranks objects a single event cannot
// see).
func TestEventsThenResyncChangeNothing(t *testing.T) {
	doc := regexp.MustCompile(`(?m)^\s+limitPerProject: \d+\n`).ReplaceAll(mapping.AllKinds(), nil)
	// The every-kind mapping's file kind adds properties to the project
	// kind's service entities: two kinds writing one entity rewrite it on
	// every resync. Here it has a blueprint of its own.
	doc = []byte(strings.Replace(string(doc), "title: .repo.name\n          blueprint: '\"service\"'", "title: .repo.name\n          blueprint: '\"catalogInfo\"'", 1))
	if !strings.Contains(string(doc), "catalogInfo") {
		t.Fatal("the file kind's resource was not found in the every-kind mapping")
	}
	file := filepath.Join(t.TempDir(), "mapping.yml")
	if err := os.WriteFile(file, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, seed := range []int64{1, 2, 3, 4, 5} {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			h := newHarness(t)
			h.mapping = file
			h.start()
			h.ready()
			eventually(t, 10*time.Second, "first resync", func() bool { return h.svc.LastResync() != nil })
			ops := activity(t, h, rand.New(rand.NewSource(seed)), 60)
			eventually(t, 10*time.Second, "events applied", func() bool {
				n, err := h.svc.Store().Depth(context.Background())
				return err == nil && n == 0
			})
			before := h.svc.LastResync()
			eventually(t, 5*time.Second, "resync started", func() bool { return h.svc.TriggerResync("test") })
			eventually(t, 20*time.Second, "resync done", func() bool { return h.svc.LastResync() != before })
			sum := h.svc.LastResync()
			if err := sum.Err(); err != nil {
				t.Fatal(err)
			}
			for _, k := range sum.Kinds {
				if k.Created+k.Updated+k.Deleted != 0 {
					t.Errorf("kind %s: the resync after the events created %d, updated %d, deleted %d (activity: %s)",
						k.Kind, k.Created, k.Updated, k.Deleted, strings.Join(ops, "; "))
				}
			}
		})
	}
}

// activity makes n random changes in the simulated GitLab, each followed
// by the deliveries GitLab sends for it, and names them.
func activity(t *testing.T, h *harness, rnd *rand.Rand, n int) []string {
	t.Helper()
	ctx := context.Background()
	root := h.org.Roots[0]
	team := h.sim.Group(root.FullPath + "/DevopsTeam")
	var projects []int64
	for _, p := range h.sim.Projects() {
		if !p.EmptyRepo && !p.Archived && strings.HasPrefix(p.PathWithNamespace, team.FullPath+"/") && len(projects) < 6 {
			projects = append(projects, p.ID)
		}
	}
	pick := func() int64 { return projects[rnd.Intn(len(projects))] }
	var ops []string
	var issues, mrs []int64
	var created []int64
	var members []*gitlabtest.Member
	for i := 0; i < n; i++ {
		switch op := rnd.Intn(16); {
		case op == 0:
			is := h.sim.AddIssue(pick(), fmt.Sprintf("issue %d", i), rnd.Intn(3) == 0)
			issues = append(issues, is.ID)
			h.sim.IssueEvent(ctx, is.ID, "open")
			ops = append(ops, "open issue")
		case op == 1 && len(issues) > 0:
			id := issues[rnd.Intn(len(issues))]
			h.sim.UpdateIssue(id, func(is *gitlabtest.Issue) { is.State = "closed" })
			h.sim.IssueEvent(ctx, id, "close")
			ops = append(ops, "close issue")
		case op == 2:
			mr := h.sim.AddMergeRequest(pick(), fmt.Sprintf("mr %d", i))
			mrs = append(mrs, mr.ID)
			h.sim.MergeRequestEvent(ctx, mr.ID, "open")
			ops = append(ops, "open MR")
		case op == 3 && len(mrs) > 0:
			id := mrs[rnd.Intn(len(mrs))]
			state := []string{"merged", "closed"}[rnd.Intn(2)]
			h.sim.UpdateMergeRequest(id, func(m *gitlabtest.MergeRequest) { m.State = state })
			h.sim.MergeRequestEvent(ctx, id, map[string]string{"merged": "merge", "closed": "close"}[state])
			ops = append(ops, state+" MR")
		case op == 4:
			pl, jobs := h.sim.AddPipeline(pick(), []string{"running", "success", "failed"}[rnd.Intn(3)], "build", "test")
			h.sim.PipelineEvent(ctx, pl.ID)
			for _, j := range jobs {
				h.sim.JobEvent(ctx, j.ID)
			}
			ops = append(ops, "pipeline")
		case op == 5:
			p := pick()
			tag := fmt.Sprintf("v1.%d.0", i)
			h.sim.AddRelease(p, tag)
			h.sim.ReleaseEvent(ctx, p, tag, "create")
			ops = append(ops, "release")
		case op == 6:
			p := pick()
			h.sim.PushFile(ctx, p, fmt.Sprintf("internal/pkg%d/x.go", i), "package x")
			ops = append(ops, "push a folder")
		case op == 7:
			p := pick()
			h.sim.PushFile(ctx, p, "catalog-info.json", fmt.Sprintf(`{"tier": "tier-%d", "lifecycle": "production"}`, i))
			ops = append(ops, "push catalog-info.json")
		case op == 8:
			p, _ := h.sim.CreateProject(ctx, team, fmt.Sprintf("Created%dApp", i))
			created = append(created, p.ID)
			ops = append(ops, "create project")
		case op == 9 && len(created) > 0:
			k := rnd.Intn(len(created))
			h.sim.DestroyProject(ctx, created[k])
			created = append(created[:k], created[k+1:]...)
			ops = append(ops, "destroy project")
		case op == 10:
			p := pick()
			d := h.sim.AddDeployment(p, []string{"staging", "production"}[rnd.Intn(2)], []string{"success", "failed"}[rnd.Intn(2)])
			h.sim.DeploymentEvent(ctx, p, d.ID)
			ops = append(ops, "deployment "+d.Status)
		case op == 11:
			p := pick()
			h.sim.PushRef(ctx, p, fmt.Sprintf("refs/tags/t%d", i), false)
			ops = append(ops, "tag")
		case op == 12:
			content := ""
			if rnd.Intn(3) > 0 {
				content = fmt.Sprintf("---\nname: skill-%d\n---\nDo things.\n", i)
			}
			h.sim.PushFile(ctx, pick(), "skills/helper/SKILL.md", content)
			ops = append(ops, "push a SKILL.md")
		case op == 13:
			content := ""
			if rnd.Intn(3) > 0 {
				content = fmt.Sprintf(`{"name": "kit-%d", "version": "1.%d.0"}`, i, i)
			}
			h.sim.PushFile(ctx, pick(), ".cursor-plugin/plugin.json", content)
			ops = append(ops, "push a plugin manifest")
		case op == 14:
			m := h.sim.AddMember(root.ID, fmt.Sprintf("user%d", i), 30)
			members = append(members, m)
			h.sim.MemberEvent(ctx, root.ID, m, "user_add_to_group")
			ops = append(ops, "add member")
		case op == 15 && len(members) > 0:
			k := rnd.Intn(len(members))
			m := members[k]
			members = append(members[:k], members[k+1:]...)
			h.sim.RemoveMember(root.ID, m.UserID)
			h.sim.MemberEvent(ctx, root.ID, m, "user_remove_from_group")
			ops = append(ops, "remove member")
		}
	}
	return ops
}
