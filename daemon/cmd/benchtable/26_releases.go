package main

// Ocean v2's releases (every release of every project) read from each
// group's listing where it gives the same objects, per project elsewhere
// (shared/crawl/releases.go), on the every-kind rows' organisation (2,000
// projects, 500 with -quick; 20 ms per request; the admin token, so each
// project is read once and the group listings are exact): its requests
// against the fewest that read that set (minimum.OceanReleases), and its
// objects against the per-project reading's, which makes Ocean's requests
// (but for projects whose releases are disabled), on the same
// organisation.

import (
	"github.com/glsync/terraform-provider-glsync/shared/crawl"
	"github.com/glsync/terraform-provider-glsync/shared/resync/minimum"
	"github.com/glsync/terraform-provider-glsync/shared/selector"
)

func init() {
	register("releases", oceanKind{
		kind:      selector.KindRelease,
		name:      "releases as Ocean v2 (every release of every project), %d projects",
		noun:      "releases",
		ocean:     crawl.Options{ReleasesProjectByProject: true},
		options:   crawl.Options{},
		oceanName: "per-project",
		oceanNote: "per project",
		own: func(counts map[string]int) int {
			return counts["GET /projects/:id/releases"] + counts["GET /groups/:id/releases"]
		},
		minimum: minimum.OceanReleases,
	}.rows)
}
