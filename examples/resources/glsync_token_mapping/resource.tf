# Stored in the running glsyncd and applied without a restart.
resource "glsync_token_mapping" "devops" {
  name     = "devops"
  token    = var.devops_group_token
  patterns = ["**/DevopsTeam/*Service", "**/RnDTeam/*Service"]
  group_hooks_override = {
    "acme/DevopsTeam" = ["push_events", "merge_requests_events"]
    "acme/RnDTeam"    = [] # all events
  }
}

variable "devops_group_token" {
  type      = string
  sensitive = true
}
