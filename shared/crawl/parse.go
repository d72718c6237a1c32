package crawl

import (
	"encoding/json"
	"path"
	"strings"

	"gopkg.in/yaml.v3"
)

// parseFile parses a file's content as the generation does.
//
// v2 (gitlab-v2/gitlab/helpers/utils.py, parse_file_content) parses only
// .json, .yaml and .yml (case-sensitive): JSON to its value, else YAML
// split on "\n---\n" into a list of documents (a document that is a list
// adds its items), else the text. v1 (gitlab_service.py,
// _parse_file_content) parses .json as JSON and .yaml/.yml as YAML: one
// document is that document, several a list.
func parseFile(gen, p string, content []byte) any {
	if gen == "v1" {
		return parseV1(p, content)
	}
	if !strings.HasSuffix(p, ".json") && !strings.HasSuffix(p, ".yaml") && !strings.HasSuffix(p, ".yml") {
		return string(content)
	}
	text := string(content)
	if strings.TrimSpace(text) == "" {
		return text
	}
	var v any
	if err := json.Unmarshal(content, &v); err == nil {
		return v
	}
	docs := []any{}
	for _, part := range strings.Split(text, "\n---\n") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		var d any
		if err := yaml.Unmarshal([]byte(part), &d); err != nil {
			return text
		}
		if list, ok := d.([]any); ok {
			for _, e := range list {
				docs = append(docs, jsonable(e))
			}
			continue
		}
		docs = append(docs, jsonable(d))
	}
	return docs
}

func parseV1(p string, content []byte) any {
	switch strings.ToLower(path.Ext(p)) {
	case ".json":
		var v any
		if err := json.Unmarshal(content, &v); err == nil {
			return v
		}
	case ".yaml", ".yml":
		docs := parseContent(p, content)
		if s, isText := docs[0].(string); isText && len(docs) == 1 && s == string(content) {
			return s
		}
		if len(docs) == 1 {
			return docs[0]
		}
		return docs
	}
	return string(content)
}

// parseContent parses JSON, or YAML (one value per document), else keeps
// the text.
func parseContent(p string, content []byte) []any {
	switch strings.ToLower(path.Ext(p)) {
	case ".json":
		var v any
		if err := json.Unmarshal(content, &v); err == nil {
			return []any{v}
		}
	case ".yaml", ".yml":
		if docs, err := yamlDocs(content); err == nil && len(docs) > 0 {
			return docs
		}
	}
	return []any{string(content)}
}

// jsonable turns YAML's values into what jq and JSON expect.
func jsonable(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = jsonable(e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = jsonable(e)
		}
		return x
	case int:
		return float64(x)
	case int64:
		return float64(x)
	case uint64:
		return float64(x)
	}
	return v
}
