# By app_host; the hooks in place are read from GitLab.
terraform import glsync_managed_hooks.this https://glsync.example.com
