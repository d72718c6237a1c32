# One provider block per GitLab token: use aliases for several root groups.
provider "glsync" {
  gitlab_host        = "https://gitlab.example.com" # default https://gitlab.com (or GLSYNC_GITLAB_HOST)
  gitlab_token       = var.gitlab_token             # or GITLAB_TOKEN
  daemon_url         = "http://127.0.0.1:8001"      # glsyncd's admin API (or GLSYNC_DAEMON_URL)
  daemon_admin_token = var.glsync_admin_token       # glsyncd's adminToken (or GLSYNC_ADMIN_TOKEN)
}

provider "glsync" {
  alias        = "marketing"
  gitlab_token = var.marketing_token
}

variable "gitlab_token" {
  type      = string
  sensitive = true
}

variable "marketing_token" {
  type      = string
  sensitive = true
}

variable "glsync_admin_token" {
  type      = string
  sensitive = true
}
