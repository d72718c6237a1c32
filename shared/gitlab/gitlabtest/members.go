// Group members: the simulated memberships, the members listings (direct
// and inherited) and the member webhooks.

package gitlabtest

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
)

// Member is a user's membership of a group.
type Member struct {
	GroupID     int64
	UserID      int64
	Username    string
	Name        string
	AccessLevel int
	Bot         bool
}

// AddMember adds a user to a group.
func (s *Server) AddMember(groupID int64, username string, accessLevel int) *Member {
	s.lockW()
	defer s.mu.Unlock()
	s.obj.init()
	m := &Member{GroupID: groupID, UserID: s.obj.id(), Username: username, Name: username, AccessLevel: accessLevel}
	for _, x := range s.obj.members {
		if x.Username == username {
			m.UserID = x.UserID
		}
	}
	s.obj.members = append(s.obj.members, m)
	c := *m
	return &c
}

// RemoveMember removes a user from a group.
func (s *Server) RemoveMember(groupID, userID int64) {
	s.lockW()
	defer s.mu.Unlock()
	for i, m := range s.obj.members {
		if m.GroupID == groupID && m.UserID == userID {
			s.obj.members = append(s.obj.members[:i], s.obj.members[i+1:]...)
			return
		}
	}
}

func (s *Server) memberJSON(m *Member) map[string]any {
	return map[string]any{
		"id": m.UserID, "username": m.Username, "name": m.Name, "state": "active", "avatar_url": nil,
		"web_url": s.webURL(m.Username), "access_level": m.AccessLevel, "created_at": ts(baseTime), "expires_at": nil,
		"group_saml_identity": nil, "membership_state": "active", "bot": m.Bot, "locked": false,
	}
}

// groupMembers serves GET /groups/:id/members[/:user_id].
func (s *Server) groupMembers(w http.ResponseWriter, r *http.Request, g *Group, segs []string) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var list []*Member
	for _, m := range s.obj.members {
		if m.GroupID == g.ID && (len(segs) == 3 || strconv.FormatInt(m.UserID, 10) == segs[3]) {
			list = append(list, m)
		}
	}
	if len(segs) == 4 {
		if len(list) == 0 {
			writeJSON(w, http.StatusNotFound, map[string]any{"message": "404 Member Not Found"})
			return
		}
		writeJSON(w, http.StatusOK, s.memberJSON(list[0]))
		return
	}
	page := offsetPage(w, r, s.apiURL(fmt.Sprintf("groups/%d/members", g.ID)), list)
	out := make([]any, len(page))
	for k, m := range page {
		out[k] = s.memberJSON(m)
	}
	writeJSON(w, http.StatusOK, out)
}

// groupMembersAll serves GET /groups/:id/members/all: direct and
// inherited members.
func (s *Server) groupMembersAll(w http.ResponseWriter, r *http.Request, g *Group) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []any
	for _, m := range s.obj.members {
		if s.isDescendant(g.ID, m.GroupID) {
			out = append(out, s.memberJSON(m))
		}
	}
	writeJSON(w, http.StatusOK, offsetPage(w, r, s.apiURL(fmt.Sprintf("groups/%d/members/all", g.ID)), out))
}

// MemberEvent delivers "Member Hook" (user_add_to_group,
// user_update_for_group, user_remove_from_group) to the group's hooks and
// its ancestors'.
func (s *Server) MemberEvent(ctx context.Context, groupID int64, m *Member, eventName string) []Delivery {
	s.mu.RLock()
	g := s.groups[groupID]
	body := template("webhooks/member.json")
	for k, v := range map[string]any{"group_id": g.ID, "group_name": g.Name, "group_path": g.FullPath, "user_id": m.UserID,
		"user_username": m.Username, "user_name": m.Name, "event_name": eventName} {
		body[k] = v
	}
	s.mu.RUnlock()
	return s.fire(ctx, groupID, "Member Hook", body, "", nil)
}
