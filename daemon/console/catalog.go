package console

import (
	"cmp"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
)

// blueprintRow is one blueprint and its count.
type blueprintRow struct {
	Name  string
	Count int
	// Current marks the blueprint the list is limited to.
	Current bool
}

type catalogData struct {
	Blueprints []blueprintRow
	Total      int
	Blueprint  string
	Search     string
	Entities   []*catalog.Entity
	// Next is the following page ("" on the last); First links back to
	// the first page once past it.
	Next, First string
}

// catalogPage lists the blueprints with their counts and one page of
// entities, limited to a blueprint and to a search on identifier and
// title. Pages are keyset pages (after the last key shown), so the
// hundredth page costs what the first does.
func (c *Console) catalogPage(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := r.Context()
	q := r.URL.Query()
	counts, err := c.opts.Catalog.BlueprintCounts(ctx)
	if err != nil {
		c.failed(w, r, s, "counting the catalog's entities", err)
		return
	}
	d := catalogData{Blueprint: q.Get("blueprint"), Search: strings.TrimSpace(q.Get("q"))}
	for name, n := range counts {
		d.Blueprints = append(d.Blueprints, blueprintRow{Name: name, Count: n, Current: name == d.Blueprint})
		d.Total += n
	}
	slices.SortFunc(d.Blueprints, func(a, b blueprintRow) int { return cmp.Compare(a.Name, b.Name) })
	pq := catalog.PageQuery{Blueprint: d.Blueprint, Search: d.Search, Limit: c.opts.PageSize,
		After: catalog.Key{Blueprint: q.Get("after_blueprint"), Identifier: q.Get("after")}}
	p, err := c.opts.Catalog.Page(ctx, pq)
	if err != nil {
		c.failed(w, r, s, "listing the catalog's entities", err)
		return
	}
	d.Entities = p.Entities
	base := url.Values{}
	if d.Blueprint != "" {
		base.Set("blueprint", d.Blueprint)
	}
	if d.Search != "" {
		base.Set("q", d.Search)
	}
	if p.Next != nil {
		next := url.Values{"after_blueprint": {p.Next.Blueprint}, "after": {p.Next.Identifier}}
		for k, v := range base {
			next[k] = v
		}
		d.Next = Prefix + "catalog?" + next.Encode()
	}
	if pq.After != (catalog.Key{}) {
		d.First = strings.TrimSuffix(Prefix+"catalog?"+base.Encode(), "?")
	}
	c.render(w, r, s, "catalog", "Catalog", "catalog", d)
}

// property is one entity property as the page shows it.
type property struct {
	Name, Value string
	// Link is set when the value is a web address.
	Link string
}

// relation is one relation and the identifiers it points at.
type relation struct {
	Name    string
	Targets []string
}

type entityData struct {
	Entity     *catalog.Entity
	Provenance catalog.Provenance
	Properties []property
	Relations  []relation
	// GitLabURL is the GitLab object's page (its url property, or the
	// project's page from its id).
	GitLabURL string
}

// urlProperties are the properties the default mappings put the GitLab
// object's web_url in.
var urlProperties = []string{"url", "link", "web_url", "webUrl"}

func (c *Console) entityPage(w http.ResponseWriter, r *http.Request, s *session) {
	q := r.URL.Query()
	k := catalog.Key{Blueprint: q.Get("blueprint"), Identifier: q.Get("id")}
	if k.Blueprint == "" || k.Identifier == "" {
		c.fail(w, r, s, http.StatusBadRequest, "Name an entity by its blueprint and identifier.")
		return
	}
	e, prov, ok, err := c.opts.Catalog.Entity(r.Context(), k)
	if err != nil {
		c.failed(w, r, s, "reading the entity", err)
		return
	}
	if !ok {
		c.fail(w, r, s, http.StatusNotFound, "The catalog holds no entity "+k.Identifier+" of blueprint "+k.Blueprint+".")
		return
	}
	d := entityData{Entity: e, Provenance: prov}
	for name, v := range e.Properties {
		p := property{Name: name, Value: show(v)}
		if str, ok := v.(string); ok && webURL(str) {
			p.Link = str
		}
		d.Properties = append(d.Properties, p)
	}
	slices.SortFunc(d.Properties, func(a, b property) int { return cmp.Compare(a.Name, b.Name) })
	for _, name := range urlProperties {
		if v, ok := e.Properties[name].(string); ok && webURL(v) {
			d.GitLabURL = v
			break
		}
	}
	if d.GitLabURL == "" && prov.Project != 0 && webURL(c.opts.GitLabHost) {
		// GitLab redirects /projects/<id> to the project's page.
		d.GitLabURL = strings.TrimRight(c.opts.GitLabHost, "/") + "/projects/" + strconv.FormatInt(prov.Project, 10)
	}
	for name, v := range e.Relations {
		if t := targets(v); len(t) > 0 {
			d.Relations = append(d.Relations, relation{Name: name, Targets: t})
		}
	}
	slices.SortFunc(d.Relations, func(a, b relation) int { return cmp.Compare(a.Name, b.Name) })
	c.render(w, r, s, "entity", e.Title, "catalog", d)
}

// targets are a relation's identifiers: one, or many.
func targets(v any) []string {
	switch t := v.(type) {
	case string:
		if t != "" {
			return []string{t}
		}
	case []any:
		var out []string
		for _, x := range t {
			if s, ok := x.(string); ok && s != "" {
				out = append(out, s)
			}
		}
		return out
	case []string:
		return t
	}
	return nil
}

// show is a property value as text: strings as they are, the rest as
// JSON.
func show(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "?"
	}
	return string(b)
}

// webURL reports whether s is an http(s) address, the only kind the
// pages link to (html/template would neutralise a javascript: one, but
// it would still be a dead link).
func webURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

type resolveData struct {
	Identifier string
	Relation   string
	Matches    []catalog.Key
}

// resolvePage follows a relation: a relation holds the related entity's
// identifier but not its blueprint, so each blueprint is asked for it
// (one indexed read per blueprint). One match goes straight to it.
func (c *Console) resolvePage(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := r.Context()
	id := r.URL.Query().Get("id")
	if id == "" {
		c.fail(w, r, s, http.StatusBadRequest, "Name the related entity's identifier.")
		return
	}
	counts, err := c.opts.Catalog.BlueprintCounts(ctx)
	if err != nil {
		c.failed(w, r, s, "counting the catalog's entities", err)
		return
	}
	d := resolveData{Identifier: id, Relation: r.URL.Query().Get("relation")}
	for bp := range counts {
		k := catalog.Key{Blueprint: bp, Identifier: id}
		_, _, ok, err := c.opts.Catalog.Entity(ctx, k)
		if err != nil {
			c.failed(w, r, s, "looking up the related entity", err)
			return
		}
		if ok {
			d.Matches = append(d.Matches, k)
		}
	}
	if len(d.Matches) == 1 {
		http.Redirect(w, r, entityURL(d.Matches[0]), http.StatusSeeOther)
		return
	}
	slices.SortFunc(d.Matches, func(a, b catalog.Key) int { return cmp.Compare(a.Blueprint, b.Blueprint) })
	c.render(w, r, s, "resolve", "Related entity "+id, "catalog", d)
}

// entityURL is an entity's page.
func entityURL(k catalog.Key) string {
	return Prefix + "catalog/entity?" + url.Values{"blueprint": {k.Blueprint}, "id": {k.Identifier}}.Encode()
}
