package portsink

import "github.com/glsync/terraform-provider-glsync/shared/port"

// Client is the Port client the sink writes with: the actions processor
// claims and reports runs with it, so one token and one set of request
// counters serve both.
func (s *Sink) Client() *port.Client { return s.port }
