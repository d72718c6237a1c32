# Terraform 1.5+ and OpenTofu: adopt an existing system hook by its id.
import {
  to = glsync_system_hook.glsync
  id = "7"
}
