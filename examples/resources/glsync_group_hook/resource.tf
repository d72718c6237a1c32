# Minimal: the events glsync needs. Settings left out are not sent: GitLab
# keeps them as they are (a flag turned on by hand stays on).
resource "glsync_group_hook" "devops" {
  group  = "acme/DevopsTeam" # id or full path
  url    = "https://glsync.example.com/integration/hook/1001"
  events = ["push_events", "merge_requests_events", "pipeline_events"] # empty: all
  token  = var.hook_secret
}

variable "hook_secret" {
  type      = string
  sensitive = true
}
