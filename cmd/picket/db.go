package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/docker/go-units"
	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"

	"github.com/picket-cdr/picket/internal/cache"
	"github.com/picket-cdr/picket/internal/vulndb"
)

func defaultDBDir() string {
	d, err := cache.DefaultDir()
	if err != nil {
		return "picket-db"
	}
	return filepath.Join(d, "db")
}

func newDBCmd(g *globalFlags) *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "db",
		Short: "Manage the vulnerability database (OSV, Alpine secdb, CISA KEV)",
		Long: `The vulnerability database lives in one file (vulndb.db) under --db-dir.
Updates build a new file and swap it in atomically: a failed or interrupted
update leaves the previous database in place, and scans keep reading while
an update runs.`,
	}
	cmd.PersistentFlags().StringVar(&dir, "db-dir", defaultDBDir(), "vulnerability database directory")
	cmd.AddCommand(newDBUpdateCmd(g, &dir), newDBImportCmd(g, &dir), newDBStatusCmd(&dir))
	return cmd
}

func newDBUpdateCmd(g *globalFlags, dir *string) *cobra.Command {
	o := vulndb.UpdateOptions{}
	var noSecDB, noKEV bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "update",
		Short: "Download the vulnerability feeds and rebuild the database",
		Long: `Download OSV's per-ecosystem all.zip files, Alpine's secdb and CISA's KEV
catalogue. Unchanged feeds are skipped (ETag / Last-Modified); downloads are
retried and resumed; zip CRCs and the server's MD5 are checked. Point the
base URLs at a mirror for air-gapped hosts.`,
		Example: `  picket db update
  picket db update --ecosystems Go,PyPI,npm --no-secdb
  picket db update --osv-base https://mirror.internal/osv --kev-url https://mirror.internal/kev.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if noSecDB {
				o.SecDBBase = ""
			}
			if noKEV {
				o.KEVURL = ""
			}
			o.Logger = g.logger
			var prog *feedProgress
			if isatty.IsTerminal(os.Stderr.Fd()) {
				prog = &feedProgress{w: os.Stderr}
				o.Progress = prog.update
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			res, err := vulndb.Update(ctx, *dir, o)
			if prog != nil {
				prog.finish()
			}
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "FEED\tSTATUS\tRECORDS\tDOWNLOADED")
			for _, r := range res {
				fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", r.Feed, r.Status, r.Records, units.BytesSize(float64(r.Bytes)))
			}
			return tw.Flush()
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.OSVBase, "osv-base", vulndb.DefaultOSVBase, "OSV base URL (<base>/<ecosystem>/all.zip)")
	f.StringSliceVar(&o.Ecosystems, "ecosystems", vulndb.DefaultEcosystems, "OSV ecosystems to fetch")
	f.StringVar(&o.SecDBBase, "secdb-base", vulndb.DefaultSecDBBase, "Alpine secdb base URL (<base>/<release>/<repo>.json)")
	f.StringSliceVar(&o.SecDBReleases, "secdb-releases", vulndb.DefaultSecDBReleases, "Alpine releases whose secdb is fetched")
	f.BoolVar(&noSecDB, "no-secdb", false, "do not fetch Alpine's secdb")
	f.StringVar(&o.KEVURL, "kev-url", vulndb.DefaultKEVURL, "CISA KEV catalogue URL")
	f.BoolVar(&noKEV, "no-kev", false, "do not fetch the KEV catalogue")
	f.IntVar(&o.Retries, "retries", 3, "attempts per download")
	f.DurationVar(&timeout, "timeout", time.Hour, "give up after this long")
	return cmd
}

func newDBImportCmd(g *globalFlags, dir *string) *cobra.Command {
	return &cobra.Command{
		Use:   "import PATH...",
		Short: "Load feeds from local files: OSV zips or JSON directories, secdb YAML/JSON, KEV JSON",
		Example: `  picket db import ./osv/Go ./osv/PyPI            # directories of OSV JSON records
  picket db import Debian-all.zip                   # an OSV all.zip
  picket db import alpine/v3.19/main.yaml kev.json   # secdb and KEV`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			start := time.Now()
			infos, err := vulndb.Import(*dir, args...)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "SOURCE\tRECORDS\tSKIPPED")
			for _, i := range infos {
				fmt.Fprintf(tw, "%s\t%d\t%d\n", i.Name, i.Records, i.Skipped)
				for _, s := range i.SkipSamples {
					g.logger.Warn("skipped record", "source", i.Name, "reason", s)
				}
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			g.logger.Info("import done", "duration", time.Since(start))
			return nil
		},
	}
}

func newDBStatusCmd(dir *string) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show the database's sources, record counts and age",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			db, err := vulndb.Open(*dir)
			if err != nil {
				return err
			}
			defer db.Close()
			return printDBStatus(cmd.OutOrStdout(), *dir, db)
		},
	}
}

func printDBStatus(w io.Writer, dir string, db *vulndb.DB) error {
	srcs := db.Sources()
	sort.Slice(srcs, func(i, j int) bool { return srcs[i].Name < srcs[j].Name })
	fmt.Fprintf(w, "Database: %s (schema %d)\n\n", vulndb.Path(dir), vulndb.SchemaVersion)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SOURCE\tRECORDS\tSKIPPED\tUPDATED\tAGE\tORIGIN")
	total := 0
	for _, s := range srcs {
		total += s.Records
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\n", s.Name, s.Records, s.Skipped,
			s.UpdatedAt.Format(time.RFC3339), units.HumanDuration(time.Since(s.UpdatedAt)), s.Origin)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\n%d sources, %d records\n", len(srcs), total)
	return nil
}

// feedProgress shows the download in flight on a terminal.
type feedProgress struct {
	w     io.Writer
	last  time.Time
	drawn bool
}

func (p *feedProgress) update(feed string, got, total int64) {
	if time.Since(p.last) < 100*time.Millisecond {
		return
	}
	p.last = time.Now()
	size := "?"
	if total > 0 {
		size = units.BytesSize(float64(total))
	}
	fmt.Fprintf(p.w, "\r\033[Kdownloading %s: %s of %s", feed, units.BytesSize(float64(got)), size)
	p.drawn = true
}

func (p *feedProgress) finish() {
	if p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
	}
}
