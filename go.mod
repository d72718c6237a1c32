module github.com/glsync/terraform-provider-glsync

go 1.26.8

require (
	github.com/bmatcuk/doublestar/v4 v4.10.4
	github.com/hashicorp/go-retryablehttp v0.7.8
	gitlab.com/gitlab-org/api/client-go v1.46.0
	gopkg.in/yaml.v3 v3.0.1
)

require (
	github.com/fatih/color v1.18.0 // indirect
	github.com/google/go-cmp v0.7.0 // indirect
	github.com/google/go-querystring v1.2.0 // indirect
	github.com/hashicorp/go-cleanhttp v0.5.2 // indirect
	github.com/itchyny/gojq v0.12.20 // indirect
	github.com/itchyny/timefmt-go v0.1.9 // indirect
	github.com/mattn/go-colorable v0.1.14 // indirect
	github.com/mattn/go-isatty v0.0.24 // indirect
	golang.org/x/oauth2 v0.34.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
	golang.org/x/time v0.16.0 // indirect
)
