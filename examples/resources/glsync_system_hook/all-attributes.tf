# Every attribute, with gitlab_system_hook's names. Needs an
# administrator's token.
resource "glsync_system_hook" "all" {
  url                      = "https://glsync.example.com/integration/system/hook"
  name                     = "glsync"
  description              = "Catalog sync"
  token                    = var.system_hook_secret
  enable_ssl_verification  = true
  push_events              = true
  tag_push_events          = true
  merge_requests_events    = true
  repository_update_events = true
}

variable "system_hook_secret" {
  type      = string
  sensitive = true
}
