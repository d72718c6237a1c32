# GitLab 19+: GitLab signs each delivery with the signing token
# (webhook-signature, the Standard Webhooks scheme) beside X-Gitlab-Token.
# Both secrets write-only here (Terraform 1.11+): never stored in the state;
# bump a *_wo_version to send a new one. Generate a signing token with
#   echo "whsec_$(openssl rand -base64 32)"
resource "glsync_project_hook" "signed" {
  project                  = "acme/MarketingTeam/RecommendationService"
  url                      = "https://hooks.example.com/gitlab"
  events                   = ["push_events"]
  token_wo                 = var.hook_secret
  token_wo_version         = 1
  signing_token_wo         = var.hook_signing_token
  signing_token_wo_version = 1
}

variable "hook_secret" {
  type      = string
  sensitive = true
  ephemeral = true
}

variable "hook_signing_token" {
  type      = string
  sensitive = true
  ephemeral = true
}
