package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

// queueCommand lets an operator see the webhook queue and act on its dead
// letters: events that failed too often (or could never succeed) and wait
// for a decision.
func (a *app) queueCommand() *cobra.Command {
	c := &cobra.Command{Use: "queue", Short: "See the webhook queue and retry or drop its dead letters"}
	var output string
	list := &cobra.Command{
		Use:   "list",
		Short: "Show how many events are queued and list the dead letters",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "json" && output != "table" {
				return usageErr(fmt.Errorf("--output: %q is not json or table", output))
			}
			store, err := a.openExisting(cmd.Context())
			if err != nil {
				return err
			}
			defer store.Close()
			depth, err := store.Depth(cmd.Context())
			if err != nil {
				return failedErr(err)
			}
			dead, err := store.ListDeadLetters(cmd.Context(), 0)
			if err != nil {
				return failedErr(err)
			}
			if output == "json" {
				type row struct {
					ID         int64     `json:"id"`
					Delivery   string    `json:"delivery"`
					Event      string    `json:"event"`
					Object     string    `json:"object"`
					ReceivedAt time.Time `json:"received_at"`
					Attempts   int       `json:"attempts"`
					Bytes      int       `json:"bytes"`
					LastError  string    `json:"last_error"`
				}
				out := struct {
					Queued      int   `json:"queued"`
					DeadLetters []row `json:"dead_letters"`
				}{Queued: depth, DeadLetters: []row{}}
				for _, d := range dead {
					out.DeadLetters = append(out.DeadLetters, row{d.ID, d.Delivery, d.Type, d.Object, d.ReceivedAt.UTC(), d.Attempts, d.Bytes, d.LastError})
				}
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(out)
			}
			fmt.Fprintf(a.stdout, "%d event(s) queued, %d dead letter(s)\n", depth, len(dead))
			if len(dead) == 0 {
				return nil
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tEVENT\tOBJECT\tRECEIVED\tATTEMPTS\tBYTES\tLAST ERROR")
			for _, d := range dead {
				msg := d.LastError
				if len(msg) > 100 {
					msg = msg[:100] + "…"
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%d\t%s\n", d.ID, d.Type, d.Object, d.ReceivedAt.UTC().Format(time.RFC3339), d.Attempts, d.Bytes, msg)
			}
			return tw.Flush()
		},
	}
	list.Flags().StringVarP(&output, "output", "o", "table", "output format: table or json")
	act := func(use, short, done string, do func(cmd *cobra.Command, ids []int64) (int, error)) *cobra.Command {
		var all bool
		cmd := &cobra.Command{
			Use:   use + " (ID... | --all)",
			Short: short,
			RunE: func(cmd *cobra.Command, args []string) error {
				if all == (len(args) > 0) {
					return usageErr(fmt.Errorf("name dead letters by id (glsyncd queue list) or give --all"))
				}
				var ids []int64
				for _, a := range args {
					id, err := strconv.ParseInt(strings.TrimSpace(a), 10, 64)
					if err != nil || id <= 0 {
						return usageErr(fmt.Errorf("%q is not a dead letter id (a positive number from glsyncd queue list)", a))
					}
					ids = append(ids, id)
				}
				n, err := do(cmd, ids)
				var ee *exitError
				if errors.As(err, &ee) {
					return err
				}
				if err != nil {
					return failedErr(err)
				}
				fmt.Fprintf(a.stdout, "%s %d dead letter(s)\n", done, n)
				if len(ids) > 0 && n < len(ids) {
					return failedErr(fmt.Errorf("%d of the %d ids named no dead letter", len(ids)-n, len(ids)))
				}
				return nil
			},
		}
		cmd.Flags().BoolVar(&all, "all", false, "every dead letter")
		return cmd
	}
	retry := act("retry", "Put dead letters back in the queue (a running glsyncd applies them)", "requeued",
		func(cmd *cobra.Command, ids []int64) (int, error) {
			store, err := a.openExisting(cmd.Context())
			if err != nil {
				return 0, err
			}
			defer store.Close()
			return store.RequeueDeadLetters(cmd.Context(), ids)
		})
	drop := act("drop", "Delete dead letters for good", "dropped",
		func(cmd *cobra.Command, ids []int64) (int, error) {
			store, err := a.openExisting(cmd.Context())
			if err != nil {
				return 0, err
			}
			defer store.Close()
			return store.DropDeadLetters(cmd.Context(), ids)
		})
	c.AddCommand(list, retry, drop)
	return c
}
