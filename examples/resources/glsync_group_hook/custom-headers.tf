# Headers GitLab adds to each delivery, e.g. for a proxy in front of
# glsync. Their values are sensitive: never shown in plans.
resource "glsync_group_hook" "behind_proxy" {
  group  = "acme"
  url    = "https://proxy.example.com/glsync/integration/hook/1"
  events = ["push_events", "merge_requests_events"]
  token  = var.hook_secret
  custom_headers = [
    { key = "X-Proxy-Auth", value = var.proxy_secret },
  ]
}

variable "hook_secret" {
  type      = string
  sensitive = true
}

variable "proxy_secret" {
  type      = string
  sensitive = true
}
