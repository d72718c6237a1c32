# Terraform 1.11+: the secret is sent to GitLab and never stored in the
# state. Bump token_wo_version to send a new one.
resource "glsync_group_hook" "wo" {
  group            = "acme"
  url              = "https://glsync.example.com/integration/hook/2"
  events           = ["push_events"]
  token_wo         = var.hook_secret
  token_wo_version = 1
}

variable "hook_secret" {
  type      = string
  sensitive = true
  ephemeral = true
}
