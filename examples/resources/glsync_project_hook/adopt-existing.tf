# A hook that may already exist at this URL on the project (made by hand,
# or by an apply whose state was lost): take it over instead of refusing.
# Without adopt_existing, create refuses and prints the terraform import
# command for that hook, so GitLab never delivers every event twice.
# Events may be spelt as GitLab (job_events), the spec (jobs_events) or
# Ocean (pipelines_events) spell them; the group-only events (subgroup,
# member, project) are refused.
resource "glsync_project_hook" "adopted" {
  project        = "acme/MarketingTeam/RecommendationService"
  url            = "https://glsync.example.com/integration/hook/5000"
  adopt_existing = true
  events         = ["push_events", "jobs_events", "pipelines_events", "resource_deploy_token_events"]
  token          = var.hook_secret
}

variable "hook_secret" {
  type      = string
  sensitive = true
}
