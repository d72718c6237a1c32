package console

import (
	"fmt"
	"html/template"
	"net/url"
	"strings"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
)

// funcs are the templates' helpers.
var funcs = template.FuncMap{
	"join":  strings.Join,
	"ago":   ago,
	"until": until,
	"seconds": func(s float64) string {
		return (time.Duration(s * float64(time.Second))).Round(time.Millisecond).String()
	},
	"label":      func(s string) string { return strings.ReplaceAll(s, "_", " ") },
	"stateClass": stateClass,
	"stamp":      func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
	"duration":   func(d time.Duration) string { return d.Round(time.Millisecond).String() },
	"entityURL": func(bp, id string) string {
		return entityURL(catalog.Key{Blueprint: bp, Identifier: id})
	},
	"resolveURL": func(id, rel string) string {
		return Prefix + "catalog/resolve?" + url.Values{"id": {id}, "relation": {rel}}.Encode()
	},
}

// ago is a time as people read it in a status page, with the exact time
// in a <time> element for the curious.
func ago(t time.Time) template.HTML {
	if t.IsZero() {
		return "never"
	}
	d := time.Since(t)
	var rel string
	switch {
	case d < time.Minute:
		rel = fmt.Sprintf("%ds ago", int(d.Seconds()))
	case d < time.Hour:
		rel = fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		rel = fmt.Sprintf("%dh%02dm ago", int(d.Hours()), int(d.Minutes())%60)
	default:
		rel = fmt.Sprintf("%d days ago", int(d.Hours()/24))
	}
	return timeElement(t, rel)
}

func until(t time.Time) template.HTML {
	d := time.Until(t).Round(time.Second)
	if d < 0 {
		d = 0
	}
	return timeElement(t, "in "+d.String())
}

// timeElement is built from a formatted time and a duration: neither can
// hold markup, so it is safe as HTML.
func timeElement(t time.Time, text string) template.HTML {
	return template.HTML(fmt.Sprintf(`<time datetime="%s" title="%s">%s</time>`,
		t.UTC().Format(time.RFC3339), t.UTC().Format("2006-01-02 15:04:05 UTC"), template.HTMLEscapeString(text)))
}

// stateClass colours a hook's or delivery's state.
func stateClass(s string) string {
	switch s {
	case "enabled", "applied":
		return "ok"
	case "retrying":
		return "warn"
	default:
		return "bad"
	}
}
