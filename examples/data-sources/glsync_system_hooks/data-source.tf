# Every system hook (an administrator's token).
data "glsync_system_hooks" "all" {}

output "system_hook_urls" {
  value = data.glsync_system_hooks.all.hooks[*].url
}
