package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/picket-cdr/picket/internal/audit"
)

func init() { registerCommand(newAuditCmd) }

func newAuditCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Work with Picket's hash-chained audit logs",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newAuditVerifyCmd(g))
	return cmd
}

func newAuditVerifyCmd(_ *globalFlags) *cobra.Command {
	var format, expectHead string
	cmd := &cobra.Command{
		Use:   "verify FILE",
		Short: "Check an audit log's hash chain and report the first bad line",
		Long: `Verify reads an audit log written by a Picket guard (one JSON object per
line, each with seq, prev and hash) and checks that every line's hash is
right and links to the line before, so an edited, deleted, inserted or
reordered line is found. Lines cut off at the end cannot be seen from the
file alone: compare the reported last hash with a copy kept elsewhere
(syslog, --expect-head).

Exit codes: 0 the chain is intact, 1 the log was tampered with, 2 error.`,
		Example: `  picket audit verify /var/log/picket/docker-audit.log
  picket audit verify --format json audit.log
  picket audit verify --expect-head 9f2c...e1 audit.log`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "text" && format != "json" {
				return fmt.Errorf("--format %q: want text or json", format)
			}
			res, err := audit.VerifyFile(args[0])
			if err != nil {
				return err
			}
			if res.OK() && expectHead != "" && res.LastHash != expectHead {
				res.FirstBad = res.Records + 1
				res.Reason = "the last line's hash is not --expect-head (lines removed from the end?)"
			}
			out := cmd.OutOrStdout()
			if format == "json" {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				if err := enc.Encode(map[string]any{
					"file": args[0], "ok": res.OK(), "records": res.Records, "first_bad_line": res.FirstBad,
					"reason": res.Reason, "last_seq": res.LastSeq, "last_hash": res.LastHash,
				}); err != nil {
					return err
				}
			} else if res.OK() {
				fmt.Fprintf(out, "%s: OK, %d records, last seq %d, head %s\n", args[0], res.Records, res.LastSeq, res.LastHash)
			} else {
				fmt.Fprintf(out, "%s: TAMPERED at line %d: %s (%d good records before it)\n", args[0], res.FirstBad, res.Reason, res.Records)
			}
			if !res.OK() {
				return fmt.Errorf("%w: %s: line %d: %s", errPolicy, args[0], res.FirstBad, res.Reason)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "text", "output format: text, json")
	cmd.Flags().StringVar(&expectHead, "expect-head", "", "hash the last line must have (anchor kept elsewhere)")
	return cmd
}
