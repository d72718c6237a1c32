# Needs an administrator's token.
resource "glsync_system_hook" "glsync" {
  url    = "https://glsync.example.com/integration/system/hook"
  events = ["push_events", "merge_requests_events", "repository_update_events"]
  token  = var.system_hook_secret
}

variable "system_hook_secret" {
  type      = string
  sensitive = true
}
