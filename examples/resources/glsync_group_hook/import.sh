# <group>:<hook_id>, the group by id or full path. The token is not imported
# (GitLab never returns it); the next apply sets it from the configuration.
terraform import glsync_group_hook.devops acme/DevopsTeam:42
