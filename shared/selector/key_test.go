package selector

import (
	"net/url"
	"reflect"
	"testing"
)

// perturb sets v, a field of Options, to a value other than its zero.
func perturb(t *testing.T, name string, v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		v.SetString("x")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int:
		v.SetInt(1)
	case reflect.Float64:
		v.SetFloat(1)
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		m.SetMapIndex(reflect.ValueOf("k"), reflect.ValueOf([]string{"v"}))
		v.Set(m)
	default:
		t.Fatalf("%s: no perturbation for %s", name, v.Kind())
	}
}

// TestKeyEveryField: changing any field of Options (those of Files too)
// changes the Key, so a field added to Options and forgotten in Key fails
// here rather than letting two resources with different options share
// one listing.
func TestKeyEveryField(t *testing.T) {
	base := Options{}
	typ := reflect.TypeOf(base)
	for i := range typ.NumField() {
		f := typ.Field(i)
		if f.Type == reflect.TypeOf(Files{}) {
			for j := range f.Type.NumField() {
				o := base
				perturb(t, f.Name+"."+f.Type.Field(j).Name, reflect.ValueOf(&o).Elem().Field(i).Field(j))
				if o.Key() == base.Key() {
					t.Errorf("Files.%s does not change the Key", f.Type.Field(j).Name)
				}
			}
			continue
		}
		o := base
		perturb(t, f.Name, reflect.ValueOf(&o).Elem().Field(i))
		if o.Key() == base.Key() {
			t.Errorf("%s does not change the Key", f.Name)
		}
	}
}

// TestKeyEquality: equal options give equal keys, built apart; a nil list
// and an empty one, a true and a false *bool, and the contents of nested
// lists all tell keys apart.
func TestKeyEquality(t *testing.T) {
	yes, no := true, false
	build := func() Options {
		return Options{Generation: OceanV2, States: []string{"opened", "merged"}, ActiveProjects: &yes,
			APIQueryParams: url.Values{"scope[]": {"failed", "success"}, "ref": {"main"}},
			Files:          Files{Path: "**/port.yml", Repos: []string{"a/b"}, Strategy: "groupSearch", Generation: OceanV2},
			Folders:        []Folder{{Path: "apps", Repos: []FolderRepo{{Name: "a/b", Branch: "main"}}}},
			SkillPaths:     []SkillPath{{Path: "skills/**/SKILL.md", Repos: []string{"a/b"}}},
			SearchQueries:  []SearchQuery{{Name: "n", Scope: "blobs", Query: "filename:port.yml"}}}
	}
	a, b := build(), build()
	if a.Key() != b.Key() {
		t.Fatal("equal options, different keys")
	}
	for name, change := range map[string]func(*Options){
		"empty labels":  func(o *Options) { o.Labels = []string{} },
		"active false":  func(o *Options) { o.ActiveProjects = &no },
		"active nil":    func(o *Options) { o.ActiveProjects = nil },
		"state order":   func(o *Options) { o.States = []string{"merged", "opened"} },
		"joined states": func(o *Options) { o.States = []string{"opened\"merged"} },
		"query value":   func(o *Options) { o.APIQueryParams = url.Values{"scope[]": {"failed"}, "ref": {"main"}} },
		"empty query":   func(o *Options) { o.PipelineQueryParams = url.Values{} },
		"folder branch": func(o *Options) {
			o.Folders = []Folder{{Path: "apps", Repos: []FolderRepo{{Name: "a/b", Branch: "dev"}}}}
		},
		"folder repo split": func(o *Options) { o.Folders = []Folder{{Path: "apps", Repos: []FolderRepo{{Name: "a/bmain"}}}} },
		"skill repos":       func(o *Options) { o.SkillPaths = []SkillPath{{Path: "skills/**/SKILL.md"}} },
		"search query scope": func(o *Options) {
			o.SearchQueries = []SearchQuery{{Name: "n", Scope: "commits", Query: "filename:port.yml"}}
		},
		"files repos": func(o *Options) { o.Files.Repos = nil },
	} {
		c := build()
		change(&c)
		if c.Key() == a.Key() {
			t.Errorf("%s: same key", name)
		}
	}
}
