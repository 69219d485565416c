package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/docker/go-units"
	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"

	"github.com/picket-cdr/picket/internal/analyzer"
	"github.com/picket-cdr/picket/internal/cache"
	"github.com/picket-cdr/picket/internal/finding"
	"github.com/picket-cdr/picket/internal/gate"
	"github.com/picket-cdr/picket/internal/image"
	"github.com/picket-cdr/picket/internal/report"
	"github.com/picket-cdr/picket/internal/scan"
	"github.com/picket-cdr/picket/internal/suppress"
	"github.com/picket-cdr/picket/internal/vulndb"
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
	dbDir         string
	skipVuln      bool
	dbMaxAge      time.Duration
	severities    []string
	ignoreUnfixed bool
	ignoreFile    string
	vex           []string
	disable       []string
	setSeverity   []string
	maxImageSize  string
	maxImageFiles int
	scanners      []string
	content       contentFlags
}

// scannerAnalyzers maps the --scanners categories to the analyzers they
// enable beyond the package inventory, which always runs.
var scannerAnalyzers = map[string][]string{
	"secret":    {"secret"},
	"malware":   {"yara", "hashes", "elf", "webshell"},
	"misconfig": {"history", "fscheck", "accounts"},
	"vuln":      nil,
}

// defaultScanners: SBOM formats carry packages and vulnerabilities only, so
// they skip the content analyzers; every other format runs them all.
func defaultScanners(format string) []string {
	if format == report.FormatCycloneDX || format == report.FormatSPDX {
		return []string{"vuln"}
	}
	return []string{"vuln", "secret", "malware", "misconfig"}
}

func newScanImageCmd(g *globalFlags) *cobra.Command {
	f := &scanImageFlags{}
	defCache, _ := cache.DefaultDir()
	cmd := &cobra.Command{
		Use:   "image [flags] IMAGE",
		Short: "Scan a container image: packages, vulnerabilities, secrets, malware and misconfigurations",
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

Vulnerabilities are matched against the database of ` + "`picket db`" + ` (skip with
--skip-vuln). Without a database the scan warns and reports inventory only;
with --fail-on it fails instead (exit 2), since a gate without data passes
everything. Findings accepted in the ignore file (.picketignore: YAML
"ignore: [{id, reason, expires, packages, paths}]" or one id per line) or by
OpenVEX not_affected/fixed statements are listed as suppressed, with reasons.

Besides packages the scan looks, in the same pass, for secrets (built-in
rules, or a gitleaks config with --secret-config), malware (YARA rules,
SHA-256 and ssdeep blocklists, web shells, suspicious ELF binaries) and
misconfigurations (image history and configuration, setuid files, accounts,
image size and file count); choose with --scanners. Builds without libyara
or libfuzzy say so and run the rest.

Exit codes: 0 success, 1 --fail-on matched a finding, 2 error.`,
		Example: `  picket scan image docker-archive:alpine.tar.gz
  picket scan image --format cyclonedx -o sbom.json alpine:3.19
  picket scan image --format spdx registry:localhost:5000/app:1.2 --insecure
  picket scan image --platform linux/arm64 oci:./layout
  picket scan image rootfs:/mnt/rootfs --format json
  PICKET_FORMAT=sarif picket scan image docker-daemon:myapp:latest
  picket scan image --fail-on high --ignore-unfixed --vex app.openvex.json myapp:1.4
  picket scan image --scanners secret,malware --yara-rules ./signature-base myapp:1.4
  picket scan image --secret-config gitleaks.toml --hash-blocklist bad.sha256 myapp:1.4`,
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
	fl.StringVar(&f.dbDir, "db-dir", defaultDBDir(), "vulnerability database directory (see `picket db`)")
	fl.BoolVar(&f.skipVuln, "skip-vuln", false, "do not match vulnerabilities (inventory and SBOM only)")
	fl.DurationVar(&f.dbMaxAge, "db-max-age", 7*24*time.Hour, "warn when the vulnerability data is older than this (0: never)")
	fl.StringSliceVar(&f.severities, "severity", nil, "report only findings of these severities (UNKNOWN, LOW, MEDIUM, HIGH, CRITICAL)")
	fl.BoolVar(&f.ignoreUnfixed, "ignore-unfixed", false, "hide vulnerabilities that have no fixed version")
	fl.StringVar(&f.ignoreFile, "ignorefile", ".picketignore", "ignore file: ids with reason and expiry (used when it exists)")
	fl.StringSliceVar(&f.vex, "vex", nil, "OpenVEX documents; not_affected and fixed statements suppress findings")
	fl.StringSliceVar(&f.disable, "disable-checks", nil, "switch off these rule ids (e.g. PKT-IMG-NO-HEALTHCHECK)")
	fl.StringSliceVar(&f.setSeverity, "check-severity", nil, "override rule severities: ID=LEVEL,...")
	fl.StringVar(&f.maxImageSize, "max-image-size", "2GiB", "flag images whose files add up to more than this")
	fl.IntVar(&f.maxImageFiles, "max-image-files", 500000, "flag images with more files than this (inode exhaustion)")
	fl.StringSliceVar(&f.scanners, "scanners", nil, "what to look for besides packages: vuln, secret, malware, misconfig (default: all; only vuln for cyclonedx/spdx)")
	f.content.addFlags(fl)
	_ = cmd.RegisterFlagCompletionFunc("format", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return report.Formats(), cobra.ShellCompDirectiveNoFileComp
	})
	_ = cmd.RegisterFlagCompletionFunc("analyzers", completeAnalyzers)
	_ = cmd.RegisterFlagCompletionFunc("skip-analyzers", completeAnalyzers)
	return cmd
}

func completeAnalyzers(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return analyzer.AllNames(), cobra.ShellCompDirectiveNoFileComp
}

func runScanImage(ctx context.Context, cmd *cobra.Command, g *globalFlags, f *scanImageFlags, ref string) error {
	if !validFormat(f.format) {
		return fmt.Errorf("--format: unknown format %q (want one of %v)", f.format, report.Formats())
	}
	gopts := gate.Options{IgnoreUnfixed: f.ignoreUnfixed}
	if f.failOn != "" {
		s, err := finding.ParseSeverity(f.failOn)
		if err != nil {
			return fmt.Errorf("--fail-on: %w", err)
		}
		gopts.Gate, gopts.FailOn = true, s
	}
	for _, sv := range f.severities {
		s, err := finding.ParseSeverity(sv)
		if err != nil {
			return fmt.Errorf("--severity: %w", err)
		}
		gopts.Severities = append(gopts.Severities, s)
	}
	sup := suppress.New()
	if _, err := os.Stat(f.ignoreFile); err == nil || cmd.Flags().Changed("ignorefile") {
		if err := sup.LoadIgnoreFile(f.ignoreFile); err != nil {
			return fmt.Errorf("--ignorefile: %w", err)
		}
	}
	for _, v := range f.vex {
		if err := sup.LoadVEX(v); err != nil {
			return fmt.Errorf("--vex: %w", err)
		}
	}
	gopts.Suppress = sup
	gopts.Disabled = f.disable
	for _, kv := range f.setSeverity {
		id, lvl, ok := strings.Cut(kv, "=")
		sev, err := finding.ParseSeverity(lvl)
		if !ok || id == "" || err != nil {
			return fmt.Errorf("--check-severity: want ID=LEVEL, got %q", kv)
		}
		if gopts.SeverityOf == nil {
			gopts.SeverityOf = map[string]finding.Severity{}
		}
		gopts.SeverityOf[id] = sev
	}
	maxImage, err := units.RAMInBytes(f.maxImageSize)
	if err != nil || maxImage <= 0 {
		return fmt.Errorf("--max-image-size: invalid size %q", f.maxImageSize)
	}
	maxFile, err := units.RAMInBytes(f.maxFileSize)
	if err != nil || maxFile <= 0 {
		return fmt.Errorf("--max-file-size: invalid size %q", f.maxFileSize)
	}
	maxLayer, err := units.RAMInBytes(f.maxLayerSize)
	if err != nil || maxLayer <= 0 {
		return fmt.Errorf("--max-layer-size: invalid size %q", f.maxLayerSize)
	}
	scanners := f.scanners
	if len(scanners) == 0 {
		scanners = defaultScanners(f.format)
	}
	skip := append([]string{}, f.skipAnalyzers...)
	on := map[string]bool{}
	for _, sc := range scanners {
		if _, ok := scannerAnalyzers[sc]; !ok {
			return fmt.Errorf("--scanners: unknown scanner %q (want vuln, secret, malware, misconfig)", sc)
		}
		on[sc] = true
	}
	known := map[string]bool{}
	for _, n := range analyzer.AllNames() {
		known[n] = true
	}
	for sc, names := range scannerAnalyzers {
		if !on[sc] {
			for _, n := range names {
				if known[n] { // yara is absent from builds without cgo
					skip = append(skip, n)
				}
			}
		}
	}
	if !on["vuln"] {
		f.skipVuln = true
	}
	as, ias, err := analyzer.Select(f.analyzers, skip)
	if err != nil {
		return err
	}
	if as, err = f.content.configure(g.logger, as, on["malware"], on["secret"]); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()

	opts := []scan.Option{
		scan.WithAnalyzers(as), scan.WithImageAnalyzers(ias), scan.WithLogger(g.logger), scan.WithVersion(buildVersion()),
		scan.WithMaxFileSize(maxFile), scan.WithLimits(maxLayer, 0), scan.WithWorkers(f.workers),
		scan.WithImageLimits(analyzer.Limits{MaxImageBytes: maxImage, MaxFiles: f.maxImageFiles}),
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
	var missingDB bool
	if !f.skipVuln {
		db, err := vulndb.Open(f.dbDir)
		switch {
		case errors.Is(err, vulndb.ErrNoDB):
			if gopts.Gate {
				// Fail closed: a gate without data would pass everything.
				return fmt.Errorf("--fail-on needs the vulnerability database: %w (or pass --skip-vuln)", err)
			}
			g.logger.Warn("no vulnerability database: vulnerabilities are not checked (run `picket db update`)", "db-dir", f.dbDir)
			missingDB = true
		case err != nil:
			return err
		default:
			defer db.Close()
			opts = append(opts, scan.WithVulnDB(db, f.dbMaxAge))
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
	if missingDB {
		rep.VulnDB = &report.VulnDB{Status: "missing"}
	}
	failed := gate.Apply(rep, gopts)
	if err := writeReport(cmd.OutOrStdout(), f, rep); err != nil {
		return err
	}
	if failed > 0 {
		return fmt.Errorf("%w: %d findings at or above %s", errPolicy, failed, gopts.FailOn)
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

// writeReport writes the report to --output or stdout (see writeOutput).
func writeReport(stdout io.Writer, f *scanImageFlags, rep *report.Report) error {
	return writeOutput(stdout, f.output, func(w io.Writer, color bool) error {
		return report.Write(w, f.format, rep, report.Options{Color: color, ToolVersion: buildVersion()})
	})
}
