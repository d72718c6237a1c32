package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/mapping"
)

func (a *app) mappingCommand() *cobra.Command {
	c := &cobra.Command{Use: "mapping", Short: "Write or test port-app-config mappings"}
	var output string
	var force, minimal bool
	var ocean string
	initCmd := &cobra.Command{
		Use:   "init",
		Short: "Write a mapping covering every kind (or, with --minimal, the embedded default; with --ocean v1|v2, Ocean's default) to edit it",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			doc := mapping.AllKinds()
			switch {
			case ocean != "" && minimal:
				return usageErr(errors.New("--ocean and --minimal: give one of them"))
			case ocean != "":
				gen, err := mapping.ParseGeneration(ocean)
				if err != nil {
					return usageErr(fmt.Errorf("--ocean: %w", err))
				}
				doc = mapping.OceanDefault(gen)
			case minimal:
				doc = mapping.Default()
			}
			if output == "" || output == "-" {
				_, err := a.stdout.Write(doc)
				return err
			}
			if _, err := os.Stat(output); err == nil && !force {
				return usageErr(fmt.Errorf("--output: %s exists; use --force to overwrite it", output))
			}
			if err := os.WriteFile(output, doc, 0o644); err != nil {
				return failedErr(err)
			}
			fmt.Fprintf(a.stdout, "default mapping written to %s; use it with --mapping %s (or GLSYNC_MAPPING)\n", output, output)
			return nil
		},
	}
	initCmd.Flags().StringVarP(&output, "output", "o", "", "file to write (default: standard output)")
	initCmd.Flags().BoolVar(&force, "force", false, "overwrite an existing file")
	initCmd.Flags().BoolVar(&minimal, "minimal", false, "write the embedded default (group, project, merge-request, issue) instead")
	initCmd.Flags().StringVar(&ocean, "ocean", "", "write the default mapping Ocean's GitLab integration ships: v1 (integrations/gitlab) or v2 (integrations/gitlab-v2), byte for byte")

	var kind, input string
	var fromExamples bool
	test := &cobra.Command{
		Use:   "test --kind KIND (--input FILE | --from-examples)",
		Short: "Run the mapping on raw GitLab objects and print the entities, without a resync",
		Long: "Maps raw objects of one kind (a JSON object or array from --input, or the raw examples the last\n" +
			"resync kept with --from-examples) with every resource of that kind, and prints the entities\n" +
			"as JSON. A jq error names the resource, kind, field and expression; the exit status is 1. The\n" +
			"entities are printed as a resync writes them: the failing field null, an object whose identifier\n" +
			"or blueprint fails left out (with strictMapping, the object is not mapped).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if kind == "" {
				return usageErr(errors.New("--kind: required (e.g. project, group, merge-request)"))
			}
			if (input == "") == !fromExamples {
				return usageErr(errors.New("give exactly one of --input FILE and --from-examples"))
			}
			opts, err := a.mappingOptions()
			if err != nil {
				return err
			}
			m, err := a.loadMapping(opts)
			if err != nil {
				return err
			}
			resources := m.ResourcesFor(kind)
			if len(resources) == 0 {
				return usageErr(fmt.Errorf("--kind: the mapping has no resource of kind %q (kinds: %v)", kind, m.Kinds()))
			}
			var raw []byte
			if fromExamples {
				store, err := a.openExisting(cmd.Context())
				if err != nil {
					return err
				}
				raw, err = store.Examples(cmd.Context(), kind)
				store.Close()
				if err != nil || raw == nil {
					return failedErr(fmt.Errorf("no raw examples of kind %s in %s: run a resync first (sendRawDataExamples must be on)", kind, a.resolvedDataDir()))
				}
			} else if raw, err = os.ReadFile(input); err != nil {
				return usageErr(fmt.Errorf("--input: %w", err))
			}
			objs, err := decodeObjects(raw)
			if err != nil {
				return usageErr(fmt.Errorf("--input: %w", err))
			}
			type result struct {
				Resource int             `json:"resource"`
				Input    int             `json:"input"`
				Selected bool            `json:"selected"`
				Entity   *catalog.Entity `json:"entity,omitempty"`
			}
			var out []result
			var failures []error
			for i, obj := range objs {
				for _, r := range resources {
					rec := &failureList{}
					ents, selected, err := r.MapAll(mapping.WithRecorder(cmd.Context(), rec), obj)
					for _, f := range rec.list {
						failures = append(failures, fmt.Errorf("input %d: %w", i, f.Error))
					}
					if err != nil {
						failures = append(failures, fmt.Errorf("input %d: %w", i, err))
						continue
					}
					if !selected {
						out = append(out, result{Resource: r.Index, Input: i})
						continue
					}
					for _, e := range ents {
						out = append(out, result{Resource: r.Index, Input: i, Selected: true, Entity: e})
					}
				}
			}
			enc := json.NewEncoder(a.stdout)
			enc.SetIndent("", "  ")
			if out == nil {
				out = []result{}
			}
			if err := enc.Encode(out); err != nil {
				return failedErr(err)
			}
			if len(failures) > 0 {
				return failedErr(errors.Join(failures...))
			}
			return nil
		},
	}
	test.Flags().StringVar(&kind, "kind", "", "kind to test (project, group, merge-request, …)")
	test.Flags().StringVar(&input, "input", "", "JSON file with one raw object or an array of them")
	test.Flags().BoolVar(&fromExamples, "from-examples", false, "use the raw examples the last resync kept")
	c.AddCommand(initCmd, test)
	return c
}

// decodeObjects reads one JSON object or an array of objects.
func decodeObjects(raw []byte) ([]map[string]any, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '{' {
		var o map[string]any
		if err := json.Unmarshal(raw, &o); err != nil {
			return nil, err
		}
		return []map[string]any{o}, nil
	}
	var list []map[string]any
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, fmt.Errorf("want a JSON object or an array of objects: %w", err)
	}
	return list, nil
}
