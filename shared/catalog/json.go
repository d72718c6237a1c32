package catalog

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
)

// WriteJSON writes the entities f selects as one indented JSON array,
// byte for byte what encoding/json's Encoder with SetIndent("", "  ")
// writes for the slice List returns, but entity by entity from Each: a
// catalog of 100,000 entities is never held in memory at once.
func WriteJSON(ctx context.Context, w io.Writer, s Store, f Filter) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	n := 0
	err := s.Each(ctx, f, func(e *Entity) error {
		// The element's own lines are indented one level inside the
		// array, as the Encoder indents a whole slice.
		b, err := json.MarshalIndent(e, "  ", "  ")
		if err != nil {
			return fmt.Errorf("catalog: encoding %s/%s: %w", e.Blueprint, e.Identifier, err)
		}
		sep := ",\n  "
		if n == 0 {
			sep = "[\n  "
		}
		n++
		if _, err := bw.WriteString(sep); err != nil {
			return fmt.Errorf("catalog: writing the listing: %w", err)
		}
		if _, err := bw.Write(b); err != nil {
			return fmt.Errorf("catalog: writing the listing: %w", err)
		}
		return nil
	})
	if err != nil {
		// What was written is cut short; flush it anyway so the reader sees
		// where it stopped, but report the failure.
		_ = bw.Flush()
		return err
	}
	end := "\n]\n"
	if n == 0 {
		end = "[]\n"
	}
	if _, err := bw.WriteString(end); err != nil {
		return fmt.Errorf("catalog: writing the listing: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("catalog: writing the listing: %w", err)
	}
	return nil
}
