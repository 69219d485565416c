package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/docker/go-units"
	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"

	"github.com/picket-cdr/picket/internal/analyzer"
	"github.com/picket-cdr/picket/internal/cache"
	"github.com/picket-cdr/picket/internal/finding"
	"github.com/picket-cdr/picket/internal/image"
	"github.com/picket-cdr/picket/internal/report"
	"github.com/picket-cdr/picket/internal/scan"
)

func newScanCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "scan",
		Short: "Scan images",
	}
	cmd.AddCommand(newScanImageCmd(g))
	return cmd
}

type scanImageFlags struct {
	format        string
	output        string
	cacheDir      string
	noCache       bool
	insecure      bool
	platform      string
	maxFileSize   string
	maxLayerSize  string
	analyzers     []string
	skipAnalyzers []string
	workers       int
	failOn        string
	noProgress    bool
	timeout       time.Duration
}

func newScanImageCmd(g *globalFlags) *cobra.Command {
	f := &scanImageFlags{}
	defCache, _ := cache.DefaultDir()
	cmd := &cobra.Command{
		Use:   "image [flags] IMAGE",
		Short: "Scan a container image: package inventory and SBOM",
		Long: `Scan a container image. Layers are streamed once, never extracted to disk;
results are cached per layer so shared base layers are analysed once.

IMAGE is named with a transport prefix, as skopeo and syft do:
  docker-archive:PATH   a docker save tarball (plain, gzip or zstd)
  oci:DIR[:TAG]         an OCI image layout directory
  oci-archive:PATH      a tarball of an OCI image layout
  rootfs:DIR|TAR        a root filesystem directory or tarball
  registry:REF          a registry (credentials from ~/.docker/config.json and helpers)
  docker-daemon:REF     the local Docker Engine (streamed, no file written)
A bare reference is recognised by content when it is an existing path;
otherwise it is tried in the Docker Engine, then in the registry.

Exit codes: 0 success, 1 --fail-on matched a finding, 2 error.`,
		Example: `  picket scan image docker-archive:alpine.tar.gz
  picket scan image --format cyclonedx -o sbom.json alpine:3.19
  picket scan image --format spdx registry:localhost:5000/app:1.2 --insecure
  picket scan image --platform linux/arm64 oci:./layout
  picket scan image rootfs:/mnt/rootfs --format json
  PICKET_FORMAT=sarif picket scan image docker-daemon:myapp:latest`,
		Args: cobra.ExactArgs(1),
		ValidArgsFunction: func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			out := make([]string, 0, len(image.Transports))
			for _, t := range image.Transports {
				out = append(out, t+":")
			}
			return out, cobra.ShellCompDirectiveNoSpace | cobra.ShellCompDirectiveDefault
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return runScanImage(cmd.Context(), cmd, g, f, args[0])
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.format, "format", "f", "table", "output format: table, json, sarif, cyclonedx, spdx")
	fl.StringVarP(&f.output, "output", "o", "", "write the report to this file instead of stdout")
	fl.StringVar(&f.cacheDir, "cache-dir", defCache, "layer cache directory")
	fl.BoolVar(&f.noCache, "no-cache", false, "do not read or write the layer cache")
	fl.BoolVar(&f.insecure, "insecure", false, "allow plain HTTP and unverified TLS registries")
	fl.StringVar(&f.platform, "platform", "", "platform to pick from multi-platform images (os/arch[/variant])")
	fl.StringVar(&f.maxFileSize, "max-file-size", "512MiB", "skip (and count) files larger than this")
	fl.StringVar(&f.maxLayerSize, "max-layer-size", "64GiB", "fail on layers whose uncompressed size exceeds this (decompression bombs)")
	fl.StringSliceVar(&f.analyzers, "analyzers", nil, "run only these analyzers (default all)")
	fl.StringSliceVar(&f.skipAnalyzers, "skip-analyzers", nil, "do not run these analyzers")
	fl.IntVar(&f.workers, "workers", 0, "files analysed in parallel (default: number of CPUs)")
	fl.StringVar(&f.failOn, "fail-on", "", "exit 1 when a finding at or above this severity is found (LOW, MEDIUM, HIGH, CRITICAL)")
	fl.BoolVar(&f.noProgress, "no-progress", false, "never show progress (it is shown only when stderr is a terminal)")
	fl.DurationVar(&f.timeout, "timeout", 30*time.Minute, "give up after this long")
	_ = cmd.RegisterFlagCompletionFunc("format", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return report.Formats(), cobra.ShellCompDirectiveNoFileComp
	})
	_ = cmd.RegisterFlagCompletionFunc("analyzers", completeAnalyzers)
	_ = cmd.RegisterFlagCompletionFunc("skip-analyzers", completeAnalyzers)
	return cmd
}

func completeAnalyzers(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return analyzer.Names(analyzer.All()), cobra.ShellCompDirectiveNoFileComp
}

func runScanImage(ctx context.Context, cmd *cobra.Command, g *globalFlags, f *scanImageFlags, ref string) error {
	if !validFormat(f.format) {
		return fmt.Errorf("--format: unknown format %q (want one of %v)", f.format, report.Formats())
	}
	var failOn finding.Severity
	if f.failOn != "" {
		s, err := finding.ParseSeverity(f.failOn)
		if err != nil {
			return fmt.Errorf("--fail-on: %w", err)
		}
		failOn = s
	}
	maxFile, err := units.RAMInBytes(f.maxFileSize)
	if err != nil || maxFile <= 0 {
		return fmt.Errorf("--max-file-size: invalid size %q", f.maxFileSize)
	}
	maxLayer, err := units.RAMInBytes(f.maxLayerSize)
	if err != nil || maxLayer <= 0 {
		return fmt.Errorf("--max-layer-size: invalid size %q", f.maxLayerSize)
	}
	as, err := analyzer.Select(f.analyzers, f.skipAnalyzers)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()

	opts := []scan.Option{
		scan.WithAnalyzers(as), scan.WithLogger(g.logger), scan.WithVersion(buildVersion()),
		scan.WithMaxFileSize(maxFile), scan.WithLimits(maxLayer, 0), scan.WithWorkers(f.workers),
	}
	if !f.noCache {
		store, err := cache.Open(f.cacheDir, 5*time.Second)
		switch {
		case errors.Is(err, cache.ErrLocked):
			g.logger.Warn("layer cache busy (another scan holds it); scanning without it", "dir", f.cacheDir)
		case err != nil:
			// The cache only saves work: a damaged one must not stop a scan.
			g.logger.Warn("layer cache unusable; scanning without it (remove the file to rebuild it)", "dir", f.cacheDir, "err", err)
		default:
			defer store.Close()
			opts = append(opts, scan.WithCache(store))
		}
	}
	var prog *progressLine
	if !f.noProgress && isatty.IsTerminal(os.Stderr.Fd()) {
		prog = newProgressLine(os.Stderr, ref)
		opts = append(opts, scan.WithProgress(prog.update))
	}
	rep, err := scan.New(opts...).Scan(ctx, ref, image.Options{Insecure: f.insecure, Platform: f.platform})
	if prog != nil {
		prog.finish()
	}
	if err != nil {
		return err
	}
	if err := writeReport(cmd.OutOrStdout(), f, rep); err != nil {
		return err
	}
	if failOn != finding.Unknown {
		n := 0
		for _, fd := range rep.Findings {
			if fd.Severity >= failOn {
				n++
			}
		}
		if n > 0 {
			return fmt.Errorf("%w: %d findings at or above %s", errPolicy, n, failOn)
		}
	}
	return nil
}

func validFormat(s string) bool {
	for _, f := range report.Formats() {
		if f == s {
			return true
		}
	}
	return false
}

// writeReport writes to --output atomically (temp file + rename) or stdout.
func writeReport(stdout io.Writer, f *scanImageFlags, rep *report.Report) error {
	if f.output == "" || f.output == "-" {
		color := false
		if file, ok := stdout.(*os.File); ok {
			color = isatty.IsTerminal(file.Fd()) && os.Getenv("NO_COLOR") == ""
		}
		return report.Write(stdout, f.format, rep, report.Options{Color: color, ToolVersion: buildVersion()})
	}
	tmp, err := os.CreateTemp(dirOf(f.output), ".picket-report-*")
	if err != nil {
		return fmt.Errorf("--output: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := report.Write(tmp, f.format, rep, report.Options{ToolVersion: buildVersion()}); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("--output: %w", err)
	}
	if err := os.Rename(tmp.Name(), f.output); err != nil {
		return fmt.Errorf("--output: %w", err)
	}
	return nil
}
