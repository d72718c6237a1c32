# By name. The token is not imported (glsyncd never returns it).
terraform import glsync_token_mapping.devops devops
