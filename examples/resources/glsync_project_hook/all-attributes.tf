# Every attribute, with gitlab_project_hook's names: a gitlab_project_hook
# block becomes this one by renaming the resource type.
# (repository_update_events is read only, as in gitlab_project_hook.)
resource "glsync_project_hook" "all" {
  project                      = "acme/MarketingTeam/RecommendationService"
  url                          = "https://glsync.example.com/integration/hook/{tenant}"
  name                         = "glsync"
  description                  = "Catalog sync"
  token                        = var.hook_secret
  enable_ssl_verification      = true
  push_events                  = true
  push_events_branch_filter    = "release/*"
  branch_filter_strategy       = "wildcard" # or regex, all_branches
  tag_push_events              = true
  issues_events                = true
  confidential_issues_events   = false
  merge_requests_events        = true
  note_events                  = false
  confidential_note_events     = false
  job_events                   = true
  pipeline_events              = true
  wiki_page_events             = false
  deployment_events            = true
  releases_events              = true
  emoji_events                 = false
  feature_flag_events          = false
  milestone_events             = false
  resource_access_token_events = false
  resource_deploy_token_events = false
  vulnerability_events         = false
  custom_webhook_template      = "{\"event\":\"{{object_kind}}\"}"
  custom_headers = [
    { key = "X-Catalog", value = var.proxy_secret },
  ]
  url_variables = [
    { key = "tenant", value = "acme" },
  ]
}

variable "hook_secret" {
  type      = string
  sensitive = true
}

variable "proxy_secret" {
  type      = string
  sensitive = true
}
