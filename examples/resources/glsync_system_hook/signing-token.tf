# GitLab 19+: every delivery signed with the signing token
# (webhook-signature) beside X-Gitlab-Token. Kept in the state as a
# sensitive value; signing_token_wo keeps it out (Terraform 1.11+).
resource "glsync_system_hook" "signed" {
  url           = "https://hooks.example.com/gitlab/system"
  token         = var.system_hook_secret
  signing_token = var.hook_signing_token
}

variable "system_hook_secret" {
  type      = string
  sensitive = true
}

variable "hook_signing_token" {
  type      = string
  sensitive = true
}
