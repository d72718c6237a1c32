# Every hook of a project.
data "glsync_project_hooks" "recommendation" {
  project = "acme/MarketingTeam/RecommendationService"
}

output "recommendation_hook_urls" {
  value = data.glsync_project_hooks.recommendation.hooks[*].url
}
