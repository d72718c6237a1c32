# One system hook, by id (an administrator's token).
data "glsync_system_hook" "glsync" {
  hook_id = 42
}
