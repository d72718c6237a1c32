package service

import (
	"crypto/subtle"
	"encoding/json"
	"io"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/glsync/terraform-provider-glsync/daemon/console"
	"github.com/glsync/terraform-provider-glsync/shared/adminapi"
	"github.com/glsync/terraform-provider-glsync/shared/catalog"
)

// metricsHandler serves what Prometheus and probes read, nothing else.
func (s *Service) metricsHandler() http.Handler {
	mux := http.NewServeMux()
	s.observe(mux)
	return mux
}

// observe adds /healthz, /readyz and /metrics to mux.
func (s *Service) observe(mux *http.ServeMux) {
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.metrics.Registry, promhttp.HandlerOpts{}))
}

// adminHandler serves the admin API (and what metricsHandler serves),
// and the console under /ui/.
func (s *Service) adminHandler(ui http.Handler) http.Handler {
	mux := http.NewServeMux()
	s.observe(mux)
	mux.Handle(console.Prefix, ui)
	mux.Handle("GET /ui", http.RedirectHandler(console.Prefix, http.StatusMovedPermanently))
	mux.HandleFunc("POST /resync", s.authed(s.postResync))
	mux.HandleFunc("GET /resync/{id}", s.authed(s.getResync))
	mux.HandleFunc("GET /admin/token-mappings", s.authed(s.listMappings))
	mux.HandleFunc("GET /admin/token-mappings/{name}", s.authed(s.getMapping))
	mux.HandleFunc("PUT /admin/token-mappings/{name}", s.authed(s.putMapping))
	mux.HandleFunc("DELETE /admin/token-mappings/{name}", s.authed(s.deleteMapping))
	mux.HandleFunc("GET /admin/hook-secrets/{scope}", s.authed(s.getSecret))
	mux.HandleFunc("PUT /admin/hook-secrets/{scope}", s.authed(s.putSecret))
	mux.HandleFunc("DELETE /admin/hook-secrets/{scope}", s.authed(s.deleteSecret))
	mux.HandleFunc("GET /status", s.authed(s.status))
	return mux
}

// authed requires "Authorization: Bearer <adminToken>".
func (s *Service) authed(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		want := s.opts.Config.AdminToken
		if want == "" {
			writeJSON(w, http.StatusForbidden, map[string]string{"error": "the admin API is disabled: set adminToken (GLSYNC_ADMIN_TOKEN)"})
			return
		}
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="glsyncd"`)
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "missing or wrong bearer token"})
			return
		}
		h(w, r)
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// The admin API for token mappings and hook secrets (shared/adminapi is
// the contract). Tokens and secrets are accepted, stored in the catalog
// database and never returned.

func (s *Service) listMappings(w http.ResponseWriter, _ *http.Request) {
	s.cfgMu.RLock()
	out := make([]adminapi.TokenMapping, 0, len(s.apiMappings))
	for _, m := range s.apiMappings {
		out = append(out, adminapi.Describe(m.name, m.in))
	}
	s.cfgMu.RUnlock()
	writeJSON(w, http.StatusOK, out)
}

func (s *Service) getMapping(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	s.cfgMu.RLock()
	defer s.cfgMu.RUnlock()
	for _, m := range s.apiMappings {
		if m.name == name {
			writeJSON(w, http.StatusOK, adminapi.Describe(m.name, m.in))
			return
		}
	}
	writeJSON(w, http.StatusNotFound, map[string]string{"error": "no token mapping named " + name})
}

func (s *Service) putMapping(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	var in adminapi.TokenMappingInput
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&in); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "body must be JSON: {\"token\": ..., \"patterns\": [...], \"group_hooks_override\": {...}}"})
		return
	}
	if errs := in.Validate(name); len(errs) > 0 {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"error": "invalid token mapping", "fields": errs})
		return
	}
	s.cfgMu.RLock()
	for _, e := range s.opts.Config.TokenMapping {
		if e.Token == in.Token {
			s.cfgMu.RUnlock()
			writeJSON(w, http.StatusConflict, map[string]any{"error": "this token is already in the daemon's config file or environment", "fields": []adminapi.ValidationError{{Field: "token", Rule: "already configured in tokenMapping"}}})
			return
		}
	}
	for _, m := range s.apiMappings {
		if m.name != name && m.in.Token == in.Token {
			s.cfgMu.RUnlock()
			writeJSON(w, http.StatusConflict, map[string]any{"error": "this token is already mapped as " + m.name, "fields": []adminapi.ValidationError{{Field: "token", Rule: "already used by token mapping " + m.name}}})
			return
		}
	}
	s.cfgMu.RUnlock()
	b, _ := json.Marshal(in)
	if err := s.records.PutTokenMapping(r.Context(), name, b); err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "storing the mapping failed"})
		return
	}
	if err := s.reloadMappings(r); err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		return
	}
	out := adminapi.Describe(name, in)
	// What the mapping selects is read now, not at the next scheduled
	// resync.
	out.ResyncID = s.requestResync(r.Context(), "token mapping "+name+" stored through the admin API")
	s.log.Info("token mapping stored", "name", name, "token", out.TokenMasked, "patterns", strings.Join(in.Patterns, ","), "resync_request", out.ResyncID)
	writeJSON(w, http.StatusOK, out)
}

func (s *Service) deleteMapping(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	found, err := s.records.DeleteTokenMapping(r.Context(), name)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "deleting the mapping failed"})
		return
	}
	if !found {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no token mapping named " + name})
		return
	}
	if err := s.reloadMappings(r); err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		return
	}
	// What only this token selected leaves the catalog now, not at the
	// next scheduled resync (the deletion threshold still applies).
	id := s.requestResync(r.Context(), "token mapping "+name+" deleted through the admin API")
	s.log.Info("token mapping deleted", "name", name, "resync_request", id)
	writeJSON(w, http.StatusOK, adminapi.TokenMapping{Name: name, ResyncID: id})
}

func (s *Service) getSecret(w http.ResponseWriter, r *http.Request) {
	h, ok, err := s.secrets.HookSecret(r.Context(), r.PathValue("scope"))
	switch {
	case err != nil:
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "reading the secret failed"})
	case !ok:
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no secret for this scope"})
	default:
		writeJSON(w, http.StatusOK, adminapi.HookSecretInfo{Scope: h.Scope, HookID: h.HookID, URL: h.URL})
	}
}

func (s *Service) putSecret(w http.ResponseWriter, r *http.Request) {
	var in adminapi.HookSecretInput
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&in); err != nil || len(in.Secret) < 16 {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"error": "body must be {\"hook_id\", \"url\", \"secret\"} with a secret of at least 16 characters"})
		return
	}
	scope := r.PathValue("scope")
	if scope != "system" && !strings.HasPrefix(scope, "group:") && !strings.HasPrefix(scope, "project:") {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]string{"error": "scope must be system, group:<id> or project:<id> (a personal project's hook)"})
		return
	}
	if err := s.secrets.PutHookSecret(r.Context(), catalog.HookSecret{Scope: scope, HookID: in.HookID, URL: in.URL, Secret: in.Secret}); err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "storing the secret failed"})
		return
	}
	s.secretsChanged()
	w.WriteHeader(http.StatusNoContent)
}

func (s *Service) deleteSecret(w http.ResponseWriter, r *http.Request) {
	if err := s.secrets.DeleteHookSecret(r.Context(), r.PathValue("scope")); err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "deleting the secret failed"})
		return
	}
	s.secretsChanged()
	w.WriteHeader(http.StatusNoContent)
}
