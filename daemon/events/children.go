package events

import (
	"context"
	"errors"
	"fmt"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/crawl"
	"github.com/glsync/terraform-provider-glsync/shared/selector"
)

// child handles events of objects that live in a project (issues,
// pipelines, jobs, releases): read the object ref names in the payload's
// project and map it. ok says whether the payload named the object.
func (p *Processor) child(ctx context.Context, pl payload, ref crawl.ObjectRef, ok bool) (Result, error) {
	kind := ref.Kind
	if len(p.Mapping.ResourcesFor(kind)) == 0 {
		return Result{Outcome: NotMapped, Detail: "no " + kind + " resource in the mapping"}, nil
	}
	pid := projectID(pl)
	if pid == 0 {
		pid = pl.ObjectAttributes.ProjectID
	}
	if pid == 0 || !ok {
		return Result{}, fmt.Errorf("%w (%s)", errNoProject, kind)
	}
	ref.Project = pid
	return p.inProject(ctx, ref)
}

// deleteRelease handles a Release Hook with action delete.
func (p *Processor) deleteRelease(ctx context.Context, ev *catalog.Event, pl payload) (Result, error) {
	path := projectPath(pl)
	tag, _ := pl.Tag.(string)
	obj := map[string]any{"tag_name": tag, "name": pl.Name, "__project": projectInfo(pl, projectID(pl), path)}
	if len(p.Mapping.ResourcesFor(selector.KindRelease)) > 0 {
		api := crawl.ObjectRef{Kind: selector.KindRelease, Project: projectID(pl), Name: tag}
		if res, ok, err := p.verifyDeletion(ctx, ev, p.owner(ctx, path), path, api); !ok {
			return res, err
		}
	}
	return p.deleteObject(ctx, ev, selector.KindRelease, obj, anyMatchProject(p.sources(), path), path)
}

// deployment handles a Deployment Hook: the deployment as GitLab serves
// it, with its project under __project as the resync gives it, if the
// selector's filters list it; else its entity goes.
func (p *Processor) deployment(ctx context.Context, pl payload) (Result, error) {
	pid := projectID(pl)
	if pid == 0 || pl.DeploymentID == 0 {
		return Result{}, errors.New("events: deployment payload lacks the project id or the deployment id")
	}
	return p.inProject(ctx, crawl.ObjectRef{Kind: selector.KindDeployment, Project: pid, ID: pl.DeploymentID})
}

func (p *Processor) mergeRequest(ctx context.Context, pl payload) (Result, error) {
	if len(p.Mapping.ResourcesFor(selector.KindMergeRequest)) == 0 {
		return Result{Outcome: NotMapped, Detail: "no merge-request resource in the mapping"}, nil
	}
	pid := pl.ObjectAttributes.TargetProjectID
	if pid == 0 {
		pid = projectID(pl)
	}
	if pid == 0 || pl.ObjectAttributes.IID == 0 {
		return Result{}, errors.New("events: merge request payload has no project id or iid")
	}
	return p.inProject(ctx, crawl.ObjectRef{Kind: selector.KindMergeRequest, Project: pid, ID: pl.ObjectAttributes.IID})
}
