data "glsync_groups" "devops" {
  patterns = ["**/DevopsTeam/*Service"]
}

output "devops_groups" {
  value = [for g in data.glsync_groups.devops.groups : g.full_path]
}
