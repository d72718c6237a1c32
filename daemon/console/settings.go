package console

import "net/http"

func (c *Console) settingsPage(w http.ResponseWriter, r *http.Request, s *session) {
	v, err := c.opts.Settings.Settings(r.Context())
	if err != nil {
		c.failed(w, r, s, "reading the settings", err)
		return
	}
	c.render(w, r, s, "settings", "Settings", "settings", v)
}
