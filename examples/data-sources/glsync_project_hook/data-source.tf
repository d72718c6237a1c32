# One hook of a project, by id (no token: GitLab never returns one).
data "glsync_project_hook" "recommendation" {
  project = "acme/MarketingTeam/RecommendationService" # id or path with namespace
  hook_id = 42
}
