package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/picket-cdr/picket/internal/bench"
	"github.com/picket-cdr/picket/internal/bench/exposure"
	"github.com/picket-cdr/picket/internal/finding"
)

func init() { registerCommand(newBenchCmd) }

func newBenchCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Host compliance: CIS Docker Benchmark checks and exposed-API discovery",
		Long: `Check hosts before their containers are trusted.

  picket bench docker     CIS Docker Benchmark v1.6.0 (sections 1-7) on this Docker host
  picket bench exposure   Docker, Kubernetes and registry APIs answering without authentication

See docs/bench.md.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newBenchDockerCmd(g), newBenchExposureCmd(g))
	return cmd
}

type benchDockerFlags struct {
	format       string
	output       string
	checks       []string
	skipChecks   []string
	sections     []string
	skipSections []string
	level        int
	failOn       string
	root         string
	dockerHost   string
	containers   []string
	maxImages    int
	timeout      time.Duration
	verbose      bool
	noDaemon     bool
}

func newBenchDockerCmd(g *globalFlags) *cobra.Command {
	f := &benchDockerFlags{}
	cmd := &cobra.Command{
		Use:   "docker",
		Short: "Check this Docker host against the CIS Docker Benchmark (sections 1-7)",
		Long: `Check the Docker host against the CIS Docker Benchmark v1.6.0, as
docker-bench-security does, in Go: host configuration (1), daemon settings
from docker info, daemon.json and the dockerd command line (2), ownership and
permissions of the daemon's files (3), images (4, with the scanner's history
checks), every running container (5), sprawl (6) and swarm (7).

Each check reports PASS, WARN, INFO (facts to judge, or not applicable),
NOTE (a manual review the benchmark asks for) or SKIP (the check could not
run: no daemon, a file Picket may not read, a rootless daemon), with the
containers and files at fault and how to fix them.

Exit codes: 0 success, 1 a --fail-on condition matched, 2 error.`,
		Example: `  picket bench docker
  picket bench docker --check 5.4,5.10 --format json
  picket bench docker --skip-section 1,4 --fail-on level1
  picket bench docker --format sarif -o bench.sarif --fail-on 'warn>10,score<80'
  picket bench docker --format junit -o bench.xml --container web,db
  picket bench docker --root /host --no-daemon --section 1,3   # a host filesystem mounted elsewhere`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runBenchDocker(cmd.Context(), cmd, g, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.format, "format", "f", "text", "output format: text, json, junit, sarif")
	fl.StringVarP(&f.output, "output", "o", "", "write the report to this file instead of stdout")
	fl.StringSliceVar(&f.checks, "check", nil, "run only these checks (ids; an id selects its sub-checks, e.g. 1.1)")
	fl.StringSliceVar(&f.skipChecks, "skip-check", nil, "do not run these checks")
	fl.StringSliceVar(&f.sections, "section", nil, "run only these sections (1-7)")
	fl.StringSliceVar(&f.skipSections, "skip-section", nil, "do not run these sections")
	fl.IntVar(&f.level, "level", 0, "1: only CIS level-1 checks (default: all)")
	fl.StringVar(&f.failOn, "fail-on", "", "exit 1 when any condition holds: warn, warn>N, level1, scored, skip, score<P")
	fl.StringVar(&f.root, "root", "/", "read host files (and /proc) below this directory")
	fl.StringVar(&f.dockerHost, "docker-host", "", "Docker daemon to check (default: DOCKER_HOST or the local socket)")
	fl.BoolVar(&f.noDaemon, "no-daemon", false, "do not contact a daemon: checks that need one SKIP")
	fl.StringSliceVar(&f.containers, "container", nil, "check only these running containers (names, ids or globs) in sections 4-5")
	fl.IntVar(&f.maxImages, "max-images", 2000, "inspect at most this many images in section 4")
	fl.DurationVar(&f.timeout, "timeout", 30*time.Second, "timeout of each daemon request")
	fl.BoolVarP(&f.verbose, "verbose", "v", false, "text: show details of passing checks too")
	_ = cmd.RegisterFlagCompletionFunc("format", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return bench.Formats(), cobra.ShellCompDirectiveNoFileComp
	})
	_ = cmd.RegisterFlagCompletionFunc("check", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		var ids []string
		for _, c := range bench.Checks() {
			ids = append(ids, c.ID+"\t"+c.Title)
		}
		return ids, cobra.ShellCompDirectiveNoFileComp
	})
	return cmd
}

func parseSections(flag string, vals []string) ([]int, error) {
	var out []int
	for _, v := range vals {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			return nil, fmt.Errorf("--%s: %q is not a section number", flag, v)
		}
		out = append(out, n)
	}
	return out, nil
}

func runBenchDocker(ctx context.Context, cmd *cobra.Command, g *globalFlags, f *benchDockerFlags) error {
	sel := bench.Selection{Checks: f.checks, SkipChecks: f.skipChecks, Level: f.level}
	var err error
	if sel.Sections, err = parseSections("section", f.sections); err != nil {
		return err
	}
	if sel.SkipSections, err = parseSections("skip-section", f.skipSections); err != nil {
		return err
	}
	if err := sel.Validate(); err != nil {
		return err
	}
	gate, err := bench.ParseFailOn(f.failOn)
	if err != nil {
		return err
	}
	if !validBenchFormat(f.format) {
		return fmt.Errorf("--format: unknown format %q (want one of %s)", f.format, strings.Join(bench.Formats(), ", "))
	}
	if fi, err := os.Stat(f.root); err != nil || !fi.IsDir() {
		return fmt.Errorf("--root: %s is not a directory", f.root)
	}
	if f.maxImages <= 0 || f.timeout <= 0 {
		return fmt.Errorf("--max-images and --timeout must be positive")
	}
	for _, p := range f.containers {
		if _, err := filepath.Match(p, ""); err != nil {
			return fmt.Errorf("--container: bad pattern %q: %w", p, err)
		}
	}
	opts := []bench.Option{bench.WithRoot(f.root), bench.WithLogger(g.logger), bench.WithMaxImages(f.maxImages), bench.WithTimeout(f.timeout)}
	if f.dockerHost != "" {
		opts = append(opts, bench.WithDockerHost(f.dockerHost))
	}
	if f.noDaemon {
		opts = append(opts, bench.WithoutDaemon())
	}
	if len(f.containers) > 0 {
		pats := f.containers
		opts = append(opts, bench.WithContainerFilter(func(name string) bool {
			for _, p := range pats {
				if ok, _ := filepath.Match(p, name); ok || (len(p) >= 12 && strings.HasPrefix(name, p)) {
					return true
				}
			}
			return false
		}))
	}
	env := bench.NewEnv(opts...)
	defer env.Close()
	rep, err := bench.Run(ctx, env, sel)
	if err != nil {
		return err
	}
	rep.Version = buildVersion()
	if err := writeBenchOutput(cmd, f.output, func(w io.Writer, color bool) error {
		return bench.Write(w, f.format, rep, bench.WriteOptions{Color: color, Verbose: f.verbose})
	}); err != nil {
		return err
	}
	if failed, why := gate.Evaluate(rep); failed {
		return fmt.Errorf("%w: --fail-on %s", errPolicy, why)
	}
	return nil
}

func validBenchFormat(f string) bool {
	for _, x := range bench.Formats() {
		if strings.EqualFold(x, f) {
			return true
		}
	}
	return strings.EqualFold(f, "table")
}

// writeBenchOutput writes to -o FILE or stdout (see writeOutput).
func writeBenchOutput(cmd *cobra.Command, out string, write func(io.Writer, bool) error) error {
	return writeOutput(cmd.OutOrStdout(), out, write)
}

type benchExposureFlags struct {
	format      string
	output      string
	ports       []int
	maxTargets  int
	timeout     time.Duration
	concurrency int
	failOn      string
}

func newBenchExposureCmd(g *globalFlags) *cobra.Command {
	f := &benchExposureFlags{}
	cmd := &cobra.Command{
		Use:   "exposure [flags] HOST[:PORT]|CIDR...",
		Short: "Find Docker, Kubernetes and registry APIs that answer without authentication",
		Long: `Probe the named hosts for container-platform APIs open to anyone who can
reach them: the Docker Engine API (2375, or 2376 without client
certificates), Kubernetes API servers and kubelets answering anonymous
requests (6443, 10250, 10255), and registries whose /v2/ answers without
credentials (5000). Each finding says what an attacker could do there.

Only the targets named are contacted, with read-only GET requests. A target
without a port is probed on --ports. CIDR prefixes expand to every address,
bounded by --max-targets endpoints (address x port).

Exit codes: 0 success, 1 --fail-on matched a finding, 2 error.`,
		Example: `  picket bench exposure 10.0.0.5
  picket bench exposure 127.0.0.1:2375 registry.internal:5000
  picket bench exposure --ports 2375,2376 10.0.0.0/24 --fail-on high
  picket bench exposure -f json 192.168.1.0/28 node1.example.com:10250`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runBenchExposure(cmd.Context(), cmd, g, f, args)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.format, "format", "f", "text", "output format: text, json")
	fl.StringVarP(&f.output, "output", "o", "", "write the report to this file instead of stdout")
	fl.IntSliceVar(&f.ports, "ports", exposure.DefaultPorts, "ports probed on targets named without one")
	fl.IntVar(&f.maxTargets, "max-targets", exposure.DefaultMaxTargets, "refuse to probe more endpoints than this")
	fl.DurationVar(&f.timeout, "timeout", exposure.DefaultTimeout, "timeout of each connection and request")
	fl.IntVar(&f.concurrency, "concurrency", exposure.DefaultConcurrency, fmt.Sprintf("endpoints probed at once (at most %d)", exposure.MaxConcurrency))
	fl.StringVar(&f.failOn, "fail-on", "", "exit 1 when a finding at or above this severity is found (INFO, LOW, MEDIUM, HIGH, CRITICAL)")
	return cmd
}

func runBenchExposure(ctx context.Context, cmd *cobra.Command, g *globalFlags, f *benchExposureFlags, args []string) error {
	if f.format != "text" && f.format != "json" {
		return fmt.Errorf("--format: unknown format %q (want text or json)", f.format)
	}
	if f.timeout <= 0 || f.concurrency <= 0 || f.concurrency > exposure.MaxConcurrency || f.maxTargets <= 0 {
		return fmt.Errorf("--timeout, --max-targets and --concurrency (1-%d) must be positive", exposure.MaxConcurrency)
	}
	var gate *finding.Severity
	if f.failOn != "" {
		s, err := finding.ParseSeverity(f.failOn)
		if err != nil {
			return fmt.Errorf("--fail-on: %w", err)
		}
		gate = &s
	}
	eps, err := exposure.ParseTargets(args, f.ports, f.maxTargets)
	if err != nil {
		return err
	}
	rep, err := exposure.Scan(ctx, eps, exposure.Options{Timeout: f.timeout, Concurrency: f.concurrency, Logger: g.logger})
	if err != nil {
		return err
	}
	if err := writeBenchOutput(cmd, f.output, func(w io.Writer, color bool) error {
		return exposure.Write(w, f.format, rep, color)
	}); err != nil {
		return err
	}
	if gate != nil {
		for _, fd := range rep.Findings {
			if fd.Severity >= *gate {
				return fmt.Errorf("%w: --fail-on %s: %s at %s", errPolicy, gate, fd.Title, fd.Target)
			}
		}
	}
	return nil
}
