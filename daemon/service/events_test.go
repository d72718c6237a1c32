package service

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/mapping"
)

func TestEveryEventKind(t *testing.T) {
	h := newHarness(t)
	h.mapping = "../../shared/mapping/all-kinds.yml"
	h.start()
	h.ready()
	ctx := context.Background()
	p, pwn := h.newProject("EventsService")
	eventually(t, time.Second, "project", func() bool { return h.entity("service", pwn) != nil })

	is := h.sim.AddIssue(p.ID, "Crash on start", false)
	h.sim.IssueEvent(ctx, is.ID, "open")
	eventually(t, time.Second, "issue", func() bool { return h.entity("gitlabIssue", strconv.FormatInt(is.ID, 10)) != nil })
	conf := h.sim.AddIssue(p.ID, "Security report", true)
	h.sim.IssueEvent(ctx, conf.ID, "open")
	eventually(t, time.Second, "confidential issue", func() bool { return h.entity("gitlabIssue", strconv.FormatInt(conf.ID, 10)) != nil })

	pl, jobs := h.sim.AddPipeline(p.ID, "running", "build")
	h.sim.PipelineEvent(ctx, pl.ID)
	h.sim.JobEvent(ctx, jobs[0].ID)
	eventually(t, time.Second, "pipeline", func() bool {
		e := h.entity("gitlabPipeline", strconv.FormatInt(pl.ID, 10))
		return e != nil && e.Relations["service"] == pwn && e.Properties["status"] == "running"
	})
	eventually(t, time.Second, "job", func() bool { return h.entity("gitlabJob", strconv.FormatInt(jobs[0].ID, 10)) != nil })

	h.sim.AddRelease(p.ID, "v2.0.0")
	h.sim.ReleaseEvent(ctx, p.ID, "v2.0.0", "create")
	eventually(t, time.Second, "release", func() bool { return h.entity("gitlabRelease", pwn+"@v2.0.0") != nil })
	h.sim.DeleteRelease(p.ID, "v2.0.0")
	h.sim.ReleaseEvent(ctx, p.ID, "v2.0.0", "delete")
	eventually(t, time.Second, "release deleted", func() bool { return h.entity("gitlabRelease", pwn+"@v2.0.0") == nil })

	root := h.org.Roots[0]
	rid := strconv.FormatInt(root.ID, 10)
	has := func(user string) bool {
		e := h.entity("gitlabGroupMembers", rid)
		if e == nil {
			return false
		}
		ms, _ := e.Properties["members"].([]any)
		for _, m := range ms {
			if m == user {
				return true
			}
		}
		return false
	}
	dave := h.sim.AddMember(root.ID, "dave", 30)
	h.sim.MemberEvent(ctx, root.ID, dave, "user_add_to_group")
	eventually(t, time.Second, "member added", func() bool { return has("dave") && h.entity("gitlabMember", "dave") != nil })
	h.sim.RemoveMember(root.ID, dave.UserID)
	h.sim.MemberEvent(ctx, root.ID, dave, "user_remove_from_group")
	eventually(t, time.Second, "member removed", func() bool { return !has("dave") && h.entity("gitlabMember", "dave") == nil })

	// Project Hook (the group hooks' project events): a project created
	// and destroyed (GitLab reports it under "<path>-deleted-<id>").
	team := h.sim.Group(root.FullPath + "/DevopsTeam")
	np, _ := h.sim.CreateProject(ctx, team, "HookedService")
	npwn := team.FullPath + "/" + np.Path
	eventually(t, time.Second, "project created", func() bool {
		return h.entity("service", npwn) != nil && h.entity("gitlabProjectMembers", npwn) != nil
	})
	// Deployment Hook: the all-kinds mapping syncs successful ones.
	d := h.sim.AddDeployment(p.ID, "canary", "success")
	h.sim.DeploymentEvent(ctx, p.ID, d.ID)
	did := strconv.FormatInt(d.ID, 10)
	eventually(t, time.Second, "deployment", func() bool {
		e := h.entity("gitlabDeployment", did)
		return e != nil && e.Properties["environment"] == "canary" && e.Relations["service"] == pwn
	})
	h.sim.SetDeploymentStatus(d.ID, "failed")
	h.sim.DeploymentEvent(ctx, p.ID, d.ID)
	eventually(t, time.Second, "failed deployment no longer selected", func() bool { return h.entity("gitlabDeployment", did) == nil })
	h.sim.DestroyProject(ctx, np.ID)
	eventually(t, time.Second, "project destroyed", func() bool {
		return h.entity("service", npwn) == nil && h.entity("gitlabProjectMembers", npwn) == nil
	})
}

func TestGitOpsPush(t *testing.T) {
	h := newHarness(t)
	h.startWith(append(mapping.Default(), []byte("specPath: '**/port.yml'\n")...))
	p, pwn := h.newProject("GitOpsService")
	h.sim.PushFile(context.Background(), p.ID, "port.yml", "identifier: gitops-svc-doc\ntitle: Docs\nblueprint: doc\nrelations:\n  service: "+pwn+"\n")
	eventually(t, 2*time.Second, "entity declared in port.yml", func() bool {
		e := h.entity("doc", "gitops-svc-doc")
		return e != nil && e.Relations["service"] == pwn
	})
	// An entity dropped from the file goes; the one still declared stays.
	h.sim.PushFile(context.Background(), p.ID, "port.yml", "- identifier: gitops-svc-doc\n  title: Docs v2\n  blueprint: doc\n- identifier: gitops-svc-runbook\n  blueprint: runbook\n")
	eventually(t, 2*time.Second, "the second entity", func() bool {
		e := h.entity("doc", "gitops-svc-doc")
		return h.entity("runbook", "gitops-svc-runbook") != nil && e != nil && e.Title == "Docs v2"
	})
	h.sim.PushFile(context.Background(), p.ID, "port.yml", "- identifier: gitops-svc-runbook\n  blueprint: runbook\n")
	eventually(t, 2*time.Second, "the entity dropped from port.yml deleted", func() bool {
		return h.entity("doc", "gitops-svc-doc") == nil && h.entity("runbook", "gitops-svc-runbook") != nil
	})
	// Removing the spec file deletes what it declared.
	h.sim.PushFile(context.Background(), p.ID, "port.yml", "")
	eventually(t, 2*time.Second, "entities of the removed port.yml deleted", func() bool {
		return h.entity("runbook", "gitops-svc-runbook") == nil
	})
}

// TestPushesUpdateRepositoryKinds checks that pushes keep the repository
// kinds current: files and folders on the default branch (changed and
// removed), branches and tags created and deleted.
func TestPushesUpdateRepositoryKinds(t *testing.T) {
	h := newHarness(t)
	h.startWith([]byte(`
resources:
  - kind: project
    selector: {query: 'true'}
    port: {entity: {mappings: {identifier: .path_with_namespace, blueprint: '"service"'}}}
  - kind: file
    selector: {query: 'true', files: {path: 'config/*.json'}}
    port: {entity: {mappings: {identifier: .repo.path_with_namespace + ":" + .file.path, blueprint: '"configFile"', properties: {owner: .file.content.owner}}}}
  - kind: folder
    selector: {query: 'true', folders: [{path: ''}]}
    port: {entity: {mappings: {identifier: .repo.path_with_namespace + "/" + .folder.path, blueprint: '"folder"'}}}
  - kind: branch
    selector: {query: 'true', defaultBranchOnly: false, regex: '^feature/'}
    port: {entity: {mappings: {identifier: .__project.path_with_namespace + ":" + .name, blueprint: '"branch"', properties: {commit: .commit.id}}}}
  - kind: tag
    selector: {query: 'true'}
    port: {entity: {mappings: {identifier: .__project.path_with_namespace + ":" + .name, blueprint: '"tag"'}}}
`))
	p, pwn := h.newProject("RepoService")
	ctx := context.Background()
	file := func() *catalog.Entity { return h.entity("configFile", pwn+":config/app.json") }

	h.sim.PushFile(ctx, p.ID, "config/app.json", `{"owner": "team-a"}`)
	eventually(t, 2*time.Second, "file and folder added", func() bool {
		f := file()
		return f != nil && f.Properties["owner"] == "team-a" && h.entity("folder", pwn+"/config") != nil
	})
	h.sim.PushFile(ctx, p.ID, "config/app.json", `{"owner": "team-b"}`)
	eventually(t, 2*time.Second, "file changed", func() bool {
		f := file()
		return f != nil && f.Properties["owner"] == "team-b"
	})
	h.sim.PushFile(ctx, p.ID, "config/app.json", "")
	eventually(t, 2*time.Second, "file and its now empty folder removed", func() bool {
		return file() == nil && h.entity("folder", pwn+"/config") == nil
	})

	ds := h.sim.PushRef(ctx, p.ID, "refs/heads/feature/login", false)
	var after string
	for _, d := range ds {
		var body struct{ After string }
		if json.Unmarshal(d.Body, &body) == nil && body.After != "" {
			after = body.After
		}
	}
	eventually(t, 2*time.Second, "branch created", func() bool {
		b := h.entity("branch", pwn+":feature/login")
		return b != nil && b.Properties["commit"] == after
	})
	h.sim.PushRef(ctx, p.ID, "refs/heads/feature/login", true)
	eventually(t, 2*time.Second, "branch deleted", func() bool { return h.entity("branch", pwn+":feature/login") == nil })

	h.sim.PushRef(ctx, p.ID, "refs/tags/v9.0.0", false)
	eventually(t, 2*time.Second, "tag created", func() bool { return h.entity("tag", pwn+":v9.0.0") != nil })
	h.sim.PushRef(ctx, p.ID, "refs/tags/v9.0.0", true)
	eventually(t, 2*time.Second, "tag deleted", func() bool { return h.entity("tag", pwn+":v9.0.0") == nil })
}

// TestPushesUpdateSkillsAndPlugins: pushes to the default branch keep the
// skill and plugin kinds current: a SKILL.md added, changed and removed; a
// plugin manifest added and removed.
func TestPushesUpdateSkillsAndPlugins(t *testing.T) {
	h := newHarness(t)
	h.startWith([]byte(`
resources:
  - kind: project
    selector: {query: 'true'}
    port: {entity: {mappings: {identifier: .path_with_namespace, blueprint: '"service"'}}}
  - kind: skill
    selector: {query: 'true'}
    port: {entity: {mappings: {identifier: .repo.path_with_namespace + ":" + .skill.skillMdPath, blueprint: '"skill"', properties: {name: .skill.name, root: .skill.root}}}}
  - kind: plugin
    selector: {query: 'true', providers: [cursor, pi]}
    port: {entity: {mappings: {identifier: .repo.path_with_namespace, blueprint: '"plugin"', properties: {name: .plugin.name, pi: .plugin.supports.pi}}}}
`))
	p, pwn := h.newProject("AgentService")
	ctx := context.Background()
	skill := func() *catalog.Entity { return h.entity("skill", pwn+":.cursor/skills/lint/SKILL.md") }
	h.sim.PushFile(ctx, p.ID, ".cursor/skills/lint/SKILL.md", "---\nname: linter\n---\nLint.\n")
	eventually(t, 2*time.Second, "skill added", func() bool {
		s := skill()
		return s != nil && s.Properties["name"] == "linter" && s.Properties["root"] == ".cursor/skills"
	})
	h.sim.PushFile(ctx, p.ID, ".cursor/skills/lint/SKILL.md", "---\nname: strict-linter\n---\nLint harder.\n")
	eventually(t, 2*time.Second, "skill changed", func() bool { s := skill(); return s != nil && s.Properties["name"] == "strict-linter" })
	h.sim.PushFile(ctx, p.ID, ".cursor/skills/lint/SKILL.md", "")
	eventually(t, 2*time.Second, "skill removed", func() bool { return skill() == nil })

	plugin := func() *catalog.Entity { return h.entity("plugin", pwn) }
	h.sim.PushFile(ctx, p.ID, ".cursor-plugin/plugin.json", `{"name": "agent-kit", "version": "1.0.0"}`)
	eventually(t, 2*time.Second, "plugin added", func() bool {
		x := plugin()
		return x != nil && x.Properties["name"] == "agent-kit" && x.Properties["pi"] == false
	})
	h.sim.PushFile(ctx, p.ID, ".pi/extensions/kit.ts", "export {}")
	eventually(t, 2*time.Second, "plugin gains a provider", func() bool { x := plugin(); return x != nil && x.Properties["pi"] == true })
	h.sim.PushFile(ctx, p.ID, ".cursor-plugin/plugin.json", "")
	h.sim.PushFile(ctx, p.ID, ".pi/extensions/kit.ts", "")
	eventually(t, 2*time.Second, "plugin removed", func() bool { return plugin() == nil })
}
