// The hooks API: group and system hooks created, read, updated and deleted
// as GitLab's hooks endpoints do, with Grape's validation of their fields.

package gitlabtest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// hookInput is a hook create/update body; pointers tell "absent" apart.
type hookInput struct {
	fields map[string]any
}

func readHookInput(r *http.Request) (hookInput, error) {
	in := hookInput{fields: map[string]any{}}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			return in, err
		}
		if len(body) > 0 {
			if err := json.Unmarshal(body, &in.fields); err != nil {
				return in, err
			}
		}
	} else {
		if err := r.ParseForm(); err != nil {
			return in, err
		}
		for k, v := range r.Form {
			in.fields[k] = v[0]
		}
	}
	for k, v := range r.URL.Query() {
		if _, ok := in.fields[k]; !ok {
			in.fields[k] = v[0]
		}
	}
	return in, nil
}

func (in hookInput) str(k string) (string, bool) {
	v, ok := in.fields[k]
	if !ok || v == nil {
		return "", false
	}
	return fmt.Sprint(v), true
}

func (in hookInput) boolean(k string) (bool, bool) {
	v, ok := in.fields[k]
	if !ok || v == nil {
		return false, false
	}
	switch b := v.(type) {
	case bool:
		return b, true
	default:
		p, err := strconv.ParseBool(fmt.Sprint(b))
		return err == nil && p, true
	}
}

func validHookURL(u string) bool {
	p, err := url.Parse(u)
	return err == nil && (p.Scheme == "http" || p.Scheme == "https") && p.Host != ""
}

// errInvalidURL is GitLab's message, capital letter included.
//
//lint:ignore ST1005 the text must match GitLab's answer
var errInvalidURL = errors.New("Invalid url given")

// applyHook writes input fields onto h; create sets GitLab's defaults.
func applyHook(h *Hook, in hookInput, events []string, create bool) error {
	if v, ok := in.str("url"); ok {
		if !validHookURL(v) {
			return errInvalidURL
		}
		if _, withToken := in.fields["token"]; !create && v != h.URL && !withToken {
			h.Token = "" // GitLab drops the secret when the URL changes without one
		}
		h.URL = v
	} else if create {
		return fmt.Errorf("url is missing")
	}
	if v, ok := in.str("token"); ok {
		h.Token = v
	}
	for _, f := range []struct {
		key string
		dst *map[string]string
	}{{"custom_headers", &h.CustomHeaders}, {"url_variables", &h.URLVariables}} {
		raw, ok := in.fields[f.key]
		if !ok {
			continue
		}
		list, _ := raw.([]any)
		m := map[string]string{}
		for _, x := range list {
			kv, _ := x.(map[string]any)
			k, _ := kv["key"].(string)
			v, _ := kv["value"].(string)
			if k == "" {
				return fmt.Errorf("%s: every entry needs a key", f.key)
			}
			m[k] = v
		}
		*f.dst = m
	}
	if v, ok := in.str("name"); ok {
		h.Name = v
	}
	if v, ok := in.str("description"); ok {
		h.Description = v
	}
	if v, ok := in.str("push_events_branch_filter"); ok {
		h.PushEventsBranchFilter = v
	}
	if v, ok := in.str("branch_filter_strategy"); ok {
		h.BranchFilterStrategy = v
	}
	if v, ok := in.str("custom_webhook_template"); ok {
		h.CustomWebhookTemplate = v
	}
	if create {
		h.EnableSSLVerification = true
		h.Events = map[string]bool{"push_events": true}
	}
	if v, ok := in.boolean("enable_ssl_verification"); ok {
		h.EnableSSLVerification = v
	}
	for _, e := range events {
		if v, ok := in.boolean(e); ok {
			h.Events[e] = v
		}
	}
	// Flags this simulator does not deliver are kept and returned.
	for k := range in.fields {
		if !strings.HasSuffix(k, "_events") || slices.Contains(events, k) {
			continue
		}
		if v, ok := in.boolean(k); ok {
			if h.ExtraFlags == nil {
				h.ExtraFlags = map[string]bool{}
			}
			h.ExtraFlags[k] = v
		}
	}
	return nil
}

func (s *Server) groupHooks(w http.ResponseWriter, r *http.Request, g *Group, segs []string) {
	s.hookCRUD(w, r, segs[3:], hookOwner{group: g.ID}, groupHookEvents, fmt.Sprintf("groups/%d/hooks", g.ID))
}

func (s *Server) systemHooks(w http.ResponseWriter, r *http.Request, tok *Token, segs []string) {
	if tok.Kind != AdminToken {
		writeJSON(w, http.StatusForbidden, forbidden)
		return
	}
	s.hookCRUD(w, r, segs[1:], hookOwner{}, systemHookEvents, "hooks")
}

// hookCRUD serves list/create on the collection and get/update/delete on
// one hook of owner (a group's, a project's or the system's).
func (s *Server) hookCRUD(w http.ResponseWriter, r *http.Request, rest []string, owner hookOwner, events []string, base string) {
	if len(rest) == 3 && rest[1] == "test" && !owner.system() {
		s.testHook(w, r, owner, rest)
		return
	}
	if len(rest) == 0 {
		switch r.Method {
		case http.MethodGet:
			s.mu.RLock()
			var list []*Hook
			for _, h := range s.hooks {
				if owner.owns(h) {
					list = append(list, h)
				}
			}
			sort.Slice(list, func(i, j int) bool { return list[i].ID < list[j].ID })
			page := offsetPage(w, r, s.apiURL(base), list)
			out := make([]any, len(page))
			for i, h := range page {
				out[i] = s.hookJSON(h)
			}
			s.mu.RUnlock()
			writeJSON(w, http.StatusOK, out)
		case http.MethodPost:
			in, err := readHookInput(r)
			if err != nil {
				writeJSON(w, http.StatusBadRequest, map[string]any{"error": "body is invalid"})
				return
			}
			if s.refuseSigningToken(w, in) {
				return
			}
			h := &Hook{GroupID: owner.group, ProjectID: owner.project, CreatedAt: time.Now().UTC()}
			if err := applyHook(h, in, events, true); err != nil {
				code := http.StatusUnprocessableEntity
				if strings.Contains(err.Error(), "missing") {
					code = http.StatusBadRequest
				}
				writeJSON(w, code, map[string]any{"error": err.Error()})
				return
			}
			s.applySigningToken(h, in)
			s.lockW()
			h.ID = s.nextID.hook
			s.nextID.hook++
			s.hooks[h.ID] = h
			body := s.hookJSON(h)
			s.mu.Unlock()
			writeJSON(w, http.StatusCreated, body)
		default:
			writeJSON(w, http.StatusMethodNotAllowed, map[string]any{"error": "405 Method Not Allowed"})
		}
		return
	}
	id, err := strconv.ParseInt(rest[0], 10, 64)
	s.lockW()
	defer s.mu.Unlock()
	h := s.hooks[id]
	if err != nil || h == nil || !owner.owns(h) {
		writeJSON(w, http.StatusNotFound, hookNotFound)
		return
	}
	switch r.Method {
	case http.MethodGet:
		writeJSON(w, http.StatusOK, s.hookJSON(h))
	case http.MethodPut:
		in, err := readHookInput(r)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": "body is invalid"})
			return
		}
		updated := *h
		updated.Events = map[string]bool{}
		for k, v := range h.Events {
			updated.Events[k] = v
		}
		if s.refuseSigningToken(w, in) {
			return
		}
		if err := applyHook(&updated, in, events, false); err != nil {
			writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"error": err.Error()})
			return
		}
		s.applySigningToken(&updated, in)
		*h = updated
		writeJSON(w, http.StatusOK, s.hookJSON(h))
	case http.MethodDelete:
		delete(s.hooks, id)
		w.WriteHeader(http.StatusNoContent)
	default:
		writeJSON(w, http.StatusMethodNotAllowed, map[string]any{"error": "405 Method Not Allowed"})
	}
}
