# Terraform 1.5+ and OpenTofu: adopt an existing hook at plan time. The
# group by id or by full path gives the same state, and neither forces a
# replacement when the configuration names the group the other way.
import {
  to = glsync_group_hook.devops
  id = "acme/DevopsTeam:42"
}
