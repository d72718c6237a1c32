# Minimal: a project's own hook, e.g. for a project in a personal
# namespace, which no group hook sees. Settings left out are not sent:
# GitLab keeps them as they are (a flag turned on by hand stays on).
resource "glsync_project_hook" "recommendation" {
  project = "acme/MarketingTeam/RecommendationService" # id or path with namespace
  url     = "https://glsync.example.com/integration/hook/5000"
  events  = ["push_events", "merge_requests_events", "pipeline_events"] # empty: all a project hook has
  token   = var.hook_secret
}

variable "hook_secret" {
  type      = string
  sensitive = true
}
