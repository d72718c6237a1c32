resource "glsync_group_hook" "devops" {
  group                     = "acme/DevopsTeam" # id or full path
  url                       = "https://glsync.example.com/integration/hook/1001"
  events                    = ["push_events", "merge_requests_events", "pipeline_events"] # empty: all
  token                     = var.hook_secret
  push_events_branch_filter = "main"
  name                      = "glsync"
}

variable "hook_secret" {
  type      = string
  sensitive = true
}
