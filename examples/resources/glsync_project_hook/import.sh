# <project>:<hook_id>, the project by id or path with namespace. The token
# is not imported (GitLab never returns it); the next apply sets it from
# the configuration.
terraform import glsync_project_hook.recommendation acme/MarketingTeam/RecommendationService:42
