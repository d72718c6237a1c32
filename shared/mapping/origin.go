package mapping

// specOrigin names a repository file the way the console shows an
// entity's source: "group/project:path". Empty when either part is
// missing, so an entity never claims a file it cannot be traced to.
func specOrigin(project map[string]any, path string) string {
	repo, _ := project["path_with_namespace"].(string)
	if repo == "" || path == "" {
		return ""
	}
	return repo + ":" + path
}

// fileOrigin is the source of an entity the file kind mapped from obj,
// shaped {"file": {path…}, "repo": project} (crawl.Source.FileObjects).
func fileOrigin(obj map[string]any) string {
	file, _ := obj["file"].(map[string]any)
	repo, _ := obj["repo"].(map[string]any)
	path, _ := file["path"].(string)
	if path == "" {
		// The v1 shape names it file_path only.
		path, _ = file["file_path"].(string)
	}
	return specOrigin(repo, path)
}
