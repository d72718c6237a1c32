# The hooks glsyncd needs for this provider's token: one per root group the
# token sees. New root groups show up in `terraform plan`.
resource "glsync_managed_hooks" "this" {
  app_host = "https://glsync.example.com"
}
