# A complete setup: glsyncd runs with an adminToken (and no appHost of its
# own); Terraform gives it a token mapping and declares its hooks.
#
#   glsyncd run --config glsync.yaml   # adminToken: ..., tokenMapping for the base token
#   terraform apply
terraform {
  required_providers {
    glsync = {
      source = "glsync/glsync"
    }
  }
}

variable "acme_token" {
  type      = string
  sensitive = true
}

variable "glsync_admin_token" {
  type      = string
  sensitive = true
}

provider "glsync" {
  gitlab_host        = "https://gitlab.example.com"
  gitlab_token       = var.acme_token
  daemon_url         = "http://127.0.0.1:8001"
  daemon_admin_token = var.glsync_admin_token
}

# What glsyncd syncs for this token.
resource "glsync_token_mapping" "acme" {
  name     = "acme"
  token    = var.acme_token
  patterns = ["acme/**"]
}

# The hooks that keep it real-time; secrets go to glsyncd.
resource "glsync_managed_hooks" "acme" {
  app_host   = "https://glsync.example.com"
  depends_on = [glsync_token_mapping.acme]
}

data "glsync_projects" "preview" {
  patterns = glsync_token_mapping.acme.patterns
}

output "hooks" {
  value = glsync_managed_hooks.acme.hooks
}

output "projects_synced" {
  value = length(data.glsync_projects.preview.projects)
}
