# A hook that may already exist at this URL (made by hand, by glsyncd, or
# by an apply whose state was lost): take it over instead of refusing.
# Without adopt_existing, create refuses and prints the terraform import
# command for that hook, so GitLab never delivers every event twice.
# Events may be spelt as GitLab (job_events), the spec (jobs_events) or
# Ocean (pipelines_events) spell them; the state keeps the spelling written.
resource "glsync_group_hook" "adopted" {
  group          = "acme"
  url            = "https://glsync.example.com/integration/hook/1"
  adopt_existing = true
  events         = ["push_events", "job_events", "pipelines_events"]
  token          = var.hook_secret
}

variable "hook_secret" {
  type      = string
  sensitive = true
}
