# Terraform 1.5+ and OpenTofu: adopt an existing hook at plan time. The
# project by id or by path with namespace gives the same state, and neither
# forces a replacement when the configuration names the project the other
# way.
import {
  to = glsync_project_hook.recommendation
  id = "acme/MarketingTeam/RecommendationService:42"
}
