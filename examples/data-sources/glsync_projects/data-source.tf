# A preview of what glsyncd will sync for these globs.
data "glsync_projects" "services" {
  patterns = ["**/DevopsTeam/*Service", "**/RnDTeam/*Service"]
}

output "services" {
  value = [for p in data.glsync_projects.services.projects : p.path_with_namespace]
}
