package provider

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
)

func TestAccDataSources(t *testing.T) {
	sim, org, host := simulator(t)
	root := org.Roots[0].FullPath
	var want int
	for _, p := range sim.Projects() {
		if strings.HasPrefix(p.PathWithNamespace, root+"/DevopsTeam/") && strings.HasSuffix(p.PathWithNamespace, "Service") && !strings.Contains(strings.TrimPrefix(p.PathWithNamespace, root+"/DevopsTeam/"), "/") {
			want++
		}
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providers,
		Steps: []resource.TestStep{
			{
				Config:      providerBlock(host, org.RootTokens[0]) + "data \"glsync_projects\" \"x\" {\n  patterns = [\"a/{b\"]\n}\n",
				ExpectError: regexp.MustCompile(`Invalid glob pattern`),
			},
			{
				Config: providerBlock(host, org.RootTokens[0]) + `
data "glsync_groups" "all" {}
data "glsync_groups" "devops" {
  patterns = ["**/DevopsTeam/*Service"]
}
data "glsync_projects" "services" {
  patterns = ["**/DevopsTeam/*Service"]
}
`,
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr("data.glsync_groups.devops", "groups.#", "1"),
					resource.TestCheckResourceAttr("data.glsync_groups.devops", "groups.0.full_path", root+"/DevopsTeam"),
					resource.TestCheckResourceAttr("data.glsync_groups.devops", "groups.0.parent_id", strconv.FormatInt(org.Roots[0].ID, 10)),
					resource.TestCheckResourceAttr("data.glsync_projects.services", "projects.#", strconv.Itoa(want)),
					func(s *terraform.State) error {
						all := s.RootModule().Resources["data.glsync_groups.all"].Primary.Attributes["groups.#"]
						n := 0
						for _, g := range sim.Groups() {
							if g.FullPath == root || strings.HasPrefix(g.FullPath, root+"/") {
								n++
							}
						}
						if all != strconv.Itoa(n) {
							return fmt.Errorf("groups.# = %s, want %d (the token's subtree)", all, n)
						}
						return nil
					},
				),
			},
		},
	})
}
