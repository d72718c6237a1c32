package gitlabtest

import (
	"sort"
	"strconv"
)

// visibleGroup reports whether tok can see g.
func (s *Server) visibleGroup(tok *Token, g *Group) bool {
	if tok.Kind == AdminToken {
		return true
	}
	return s.isDescendant(g.ID, tok.GroupID)
}

// isDescendant reports whether group id is root or below it.
func (s *Server) isDescendant(id, root int64) bool {
	for g := s.groups[id]; g != nil; g = s.groups[g.ParentID] {
		if g.ID == root {
			return true
		}
	}
	return false
}

// visibleProject reports whether tok can see p: its namespace is in the
// token's subtree or it is shared with a group there.
func (s *Server) visibleProject(tok *Token, p *Project) bool {
	if tok.Kind == AdminToken || s.ownsPersonal(tok, p) {
		return true
	}
	if tok.Kind == ProjectAccessToken {
		return p.ID == tok.ProjectID
	}
	if s.isDescendant(p.NamespaceID, tok.GroupID) {
		return true
	}
	for _, gid := range p.SharedWith {
		if s.isDescendant(gid, tok.GroupID) {
			return true
		}
	}
	return false
}

func (s *Server) accessLevel(tok *Token) int {
	if tok.AccessLevel == 0 {
		return 50
	}
	return tok.AccessLevel
}

// findGroup resolves ":id" (numeric or full path) for tok, or nil.
func (s *Server) findGroup(tok *Token, id string) *Group {
	var g *Group
	if n, err := strconv.ParseInt(id, 10, 64); err == nil {
		g = s.groups[n]
	} else {
		g = s.byPath[id]
	}
	if g == nil || g.OwnerID != 0 || !s.visibleGroup(tok, g) {
		return nil
	}
	return g
}

func (s *Server) findProject(tok *Token, id string) *Project {
	var p *Project
	if n, err := strconv.ParseInt(id, 10, 64); err == nil {
		p = s.projects[n]
	} else {
		for _, c := range s.projects {
			if s.groups[c.NamespaceID].FullPath+"/"+c.Path == id {
				p = c
				break
			}
		}
	}
	if p == nil || !s.visibleProject(tok, p) {
		return nil
	}
	return p
}

func (s *Server) sortedGroups(filter func(*Group) bool) []*Group {
	var out []*Group
	for _, g := range s.groups {
		if g.OwnerID == 0 && filter(g) { // personal namespaces are not groups
			out = append(out, g)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}
