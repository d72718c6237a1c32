// Tokens and authentication: the kinds of token the simulator knows, how a
// request names one, and revoking or replacing one mid-run.

package gitlabtest

import (
	"net/http"
	"strings"
)

// TokenKind says what a token may see.
type TokenKind int

const (
	// GroupAccessToken belongs to a group's bot user: it sees that group's
	// subtree and the projects shared with it.
	GroupAccessToken TokenKind = iota
	// AdminToken belongs to an instance administrator: it sees everything.
	AdminToken
	// ProjectAccessToken belongs to a project's bot user: it sees exactly
	// that project (ProjectID); every group answers 404, as the bot is a
	// member of no group.
	ProjectAccessToken
	// PersonalToken is a user's personal access token (Ocean v2's
	// gitlabToken): it sees the projects of the user's personal namespace
	// (see AddUser) and, when GroupID is set, that group's subtree with
	// AccessLevel as the user's role there.
	PersonalToken
)

// Token is an access token known to the simulated instance.
type Token struct {
	Value string
	Kind  TokenKind
	// GroupID is the group of a group access token.
	GroupID int64
	// ProjectID is the project of a project access token.
	ProjectID int64
	// AccessLevel is the bot's role in GroupID (10..50); 50 (owner) if zero.
	AccessLevel int
	// OAuth marks an OAuth access token: GitLab takes it only as
	// "Authorization: Bearer", while access tokens work in either header.
	OAuth     bool
	Name      string
	UserID    int64
	Scopes    []string
	ExpiresAt string
}

// RevokeToken makes a token invalid, as revoking it in GitLab does: its
// requests are answered 401 from now on.
func (s *Server) RevokeToken(value string) {
	s.lockW()
	delete(s.tokens, value)
	s.mu.Unlock()
}

func (s *Server) authenticate(r *http.Request) *Token {
	v := r.Header.Get("PRIVATE-TOKEN")
	private := v != ""
	if v == "" {
		if a := r.Header.Get("Authorization"); strings.HasPrefix(a, "Bearer ") {
			v = strings.TrimPrefix(a, "Bearer ")
		}
	}
	if v == "" {
		return nil
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	t := s.tokens[v]
	if t != nil && t.OAuth && private {
		return nil // GitLab refuses an OAuth token in PRIVATE-TOKEN
	}
	return t
}

// ReplaceToken makes token old invalid and new valid in its place, as an
// OAuth refresh does (new inherits old's kind, group and role).
func (s *Server) ReplaceToken(old, new string) {
	s.lockW()
	defer s.mu.Unlock()
	t := s.tokens[old]
	if t == nil {
		return
	}
	cp := *t
	cp.Value = new
	delete(s.tokens, old)
	s.tokens[new] = &cp
}
