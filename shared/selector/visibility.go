package selector

// Visibility is what every kind's listing of groups and projects is
// restricted to, set once per mapping (its top-level visibility,
// filterOwnedProjects and projectVisibilityFilter) rather than per
// resource. It lives here, beside the per-kind Options, so that the
// mapping that reads it and the crawler that lists with it share one
// definition without the crawler importing the mapping.
type Visibility struct {
	// MinAccessLevel, when set, restricts group and project listings to
	// those where the token has at least this role
	// (visibility.useMinAccessLevel and minAccessLevel).
	MinAccessLevel int
	// OwnedOnly lists only the projects the token owns (GitLab's owned
	// parameter; Ocean v1's filterOwnedProjects), and ProjectVisibility
	// only those of one visibility (v1's projectVisibilityFilter).
	OwnedOnly         bool
	ProjectVisibility string
}
