package console

import (
	"net/http"
	"strconv"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/redact"
)

// Limits of the Events page: enough to see what is going on; the CLI
// (glsyncd queue list) lists every dead letter.
const (
	recentDeliveries = 100
	deadLettersShown = 200
)

type eventsData struct {
	Deliveries  []catalog.DeliveryRecord
	DeadLetters []catalog.DeadLetter
	// DeadTotal counts them all, when more than shown.
	DeadTotal int
}

func (c *Console) eventsPage(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := r.Context()
	var d eventsData
	var err error
	if d.Deliveries, err = c.opts.Catalog.RecentDeliveries(ctx, recentDeliveries); err != nil {
		c.failed(w, r, s, "reading the latest deliveries", err)
		return
	}
	if d.DeadLetters, err = c.opts.Queue.ListDeadLetters(ctx, deadLettersShown); err != nil {
		c.failed(w, r, s, "listing the dead letters", err)
		return
	}
	if d.DeadTotal, err = c.opts.Queue.DeadLetters(ctx); err != nil {
		c.failed(w, r, s, "counting the dead letters", err)
		return
	}
	// The reasons are errors as the workers saw them: stores keep them as
	// they were, so they are redacted here too before anyone reads them.
	for i := range d.DeadLetters {
		d.DeadLetters[i].LastError = redact.Text(d.DeadLetters[i].LastError)
	}
	for i := range d.Deliveries {
		d.Deliveries[i].Error = redact.Text(d.Deliveries[i].Error)
	}
	c.render(w, r, s, "events", "Events", "events", d)
}

// deadLetterAction is a dead letter's Retry or Drop button.
func (c *Console) deadLetterAction(w http.ResponseWriter, r *http.Request, s *session) {
	id, err := strconv.ParseInt(r.PostFormValue("id"), 10, 64)
	if err != nil || id <= 0 {
		c.fail(w, r, s, http.StatusBadRequest, "Name a dead letter by its id.")
		return
	}
	var n int
	var what string
	switch r.PostFormValue("action") {
	case "retry":
		n, err = c.opts.Queue.RequeueDeadLetters(r.Context(), []int64{id})
		what = "put back in the queue"
	case "drop":
		n, err = c.opts.Queue.DropDeadLetters(r.Context(), []int64{id})
		what = "dropped"
	default:
		c.fail(w, r, s, http.StatusBadRequest, "The action is retry or drop.")
		return
	}
	if err != nil {
		c.failed(w, r, s, "acting on the dead letter", err)
		return
	}
	idText := strconv.FormatInt(id, 10)
	if n == 0 {
		c.done(w, r, s, Prefix+"events", "Dead letter "+idText+" is gone already (retried or dropped elsewhere).")
		return
	}
	c.log.Info("console: dead letter "+what, "id", id)
	c.done(w, r, s, Prefix+"events", "Dead letter "+idText+" "+what+".")
}
