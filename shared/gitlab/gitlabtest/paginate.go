package gitlabtest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// maxCountedItems is where GitLab stops counting: above it, X-Total and
// X-Total-Pages are left out (and the Link header has no rel="last").
const maxCountedItems = 10000

// pageParams reads page and per_page the way GitLab does: per_page defaults
// to 20 and is capped at 100; page defaults to 1.
func pageParams(q url.Values) (page, perPage int) {
	page, _ = strconv.Atoi(q.Get("page"))
	if page < 1 {
		page = 1
	}
	perPage, _ = strconv.Atoi(q.Get("per_page"))
	if perPage < 1 {
		perPage = 20
	}
	if perPage > 100 {
		perPage = 100
	}
	return page, perPage
}

// offsetPage writes GitLab's offset pagination headers and returns the
// slice of items for the requested page.
func offsetPage[T any](w http.ResponseWriter, r *http.Request, base string, items []T) []T {
	q := r.URL.Query()
	page, perPage := pageParams(q)
	total := len(items)
	totalPages := (total + perPage - 1) / perPage
	if totalPages == 0 {
		totalPages = 1
	}
	start := (page - 1) * perPage
	end := start + perPage
	if start > total {
		start = total
	}
	if end > total {
		end = total
	}
	h := w.Header()
	h.Set("X-Page", strconv.Itoa(page))
	h.Set("X-Per-Page", strconv.Itoa(perPage))
	next, prev := "", ""
	if end < total {
		next = strconv.Itoa(page + 1)
	}
	if page > 1 {
		prev = strconv.Itoa(page - 1)
	}
	h.Set("X-Next-Page", next)
	h.Set("X-Prev-Page", prev)
	counted := total <= maxCountedItems
	if counted {
		h.Set("X-Total", strconv.Itoa(total))
		h.Set("X-Total-Pages", strconv.Itoa(totalPages))
	}
	link := func(p int, rel string) string {
		qq := cloneValues(q)
		qq.Set("page", strconv.Itoa(p))
		qq.Set("per_page", strconv.Itoa(perPage))
		return fmt.Sprintf("<%s?%s>; rel=%q", base, qq.Encode(), rel)
	}
	var links []string
	if prev != "" {
		links = append(links, link(page-1, "prev"))
	}
	if next != "" {
		links = append(links, link(page+1, "next"))
	}
	links = append(links, link(1, "first"))
	if counted {
		links = append(links, link(totalPages, "last"))
	}
	h.Set("Link", strings.Join(links, ", "))
	if items == nil {
		return []T{} // GitLab answers [], never null
	}
	return items[start:end]
}

// keysetPage serves keyset pagination ordered by id the way GitLab's
// Gitlab::Pagination::Keyset does for projects: items are already
// filtered by id_after / id_before and sorted in the requested direction;
// the page is the first per_page of them, and the Link header carries
// rel="next" only while more remain (GitLab reads one record more to
// know), naming the next page's bound as id_after (ascending) or
// id_before (descending) and keeping every other parameter of the
// request, the opposite bound included.
func keysetPage[T any](w http.ResponseWriter, r *http.Request, base string, items []T, id func(T) int64, desc bool) []T {
	q := r.URL.Query()
	_, perPage := pageParams(q)
	end := min(perPage, len(items))
	out := items[:end]
	w.Header().Set("X-Per-Page", strconv.Itoa(perPage))
	if end < len(items) && len(out) > 0 {
		qq := cloneValues(q)
		qq.Del("page")
		qq.Set("per_page", strconv.Itoa(perPage))
		bound := "id_after"
		if desc {
			bound = "id_before"
		}
		qq.Set(bound, strconv.FormatInt(id(out[len(out)-1]), 10))
		w.Header().Set("Link", fmt.Sprintf("<%s?%s>; rel=\"next\"", base, qq.Encode()))
	}
	return out
}

// cursorPage serves keyset pagination in descending id order the way
// GitLab's jobs listing does: an opaque cursor (base64 JSON) in the Link
// header's rel="next" URL. items must be sorted by id descending. ok is
// false when the cursor was bad and the 400 is already written.
func cursorPage[T any](w http.ResponseWriter, r *http.Request, base string, items []T, id func(T) int64) (page []T, ok bool) {
	q := r.URL.Query()
	_, perPage := pageParams(q)
	start := 0
	if c := q.Get("cursor"); c != "" {
		var cur struct {
			ID string `json:"id"`
		}
		b, err := base64.StdEncoding.DecodeString(c)
		if err == nil {
			err = json.Unmarshal(b, &cur)
		}
		before, perr := strconv.ParseInt(cur.ID, 10, 64)
		if err != nil || perr != nil {
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": "cursor is invalid"})
			return nil, false
		}
		for start < len(items) && id(items[start]) >= before {
			start++
		}
	}
	end := min(start+perPage, len(items))
	out := items[start:end]
	w.Header().Set("X-Per-Page", strconv.Itoa(perPage))
	if end < len(items) && len(out) > 0 {
		cur, _ := json.Marshal(map[string]string{"id": strconv.FormatInt(id(out[len(out)-1]), 10), "_kd": "n"})
		qq := cloneValues(q)
		qq.Set("per_page", strconv.Itoa(perPage))
		qq.Set("cursor", base64.StdEncoding.EncodeToString(cur))
		w.Header().Set("Link", fmt.Sprintf("<%s?%s>; rel=\"next\"", base, qq.Encode()))
	}
	return out, true
}

func cloneValues(q url.Values) url.Values {
	out := make(url.Values, len(q))
	for k, v := range q {
		out[k] = append([]string(nil), v...)
	}
	return out
}
