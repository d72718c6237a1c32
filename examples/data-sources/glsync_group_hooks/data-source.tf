# Every hook of a group: e.g. to find the ones that GitLab disabled.
data "glsync_group_hooks" "acme" {
  group = "acme"
}

output "disabled_hooks" {
  value = [for h in data.glsync_group_hooks.acme.hooks : h.url if h.alert_status != "executable"]
}
