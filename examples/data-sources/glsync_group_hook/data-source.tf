# One hook of a group, by id (no token: GitLab never returns one).
data "glsync_group_hook" "devops" {
  group   = "acme/DevopsTeam" # id or full path
  hook_id = 42
}

output "devops_hook_signed" {
  value = data.glsync_group_hook.devops.signing_token_present
}
