package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/picket-cdr/picket/internal/finding"
	"github.com/picket-cdr/picket/internal/runtime/agent"
	"github.com/picket-cdr/picket/internal/runtime/container"
	"github.com/picket-cdr/picket/internal/runtime/event"
	"github.com/picket-cdr/picket/internal/runtime/fim"
	"github.com/picket-cdr/picket/internal/runtime/output"
	"github.com/picket-cdr/picket/internal/runtime/rules"
	"github.com/picket-cdr/picket/internal/runtime/sensor"
)

func init() { registerCommand(newAgentCmd) }

type agentFlags struct {
	rules          []string
	noDefault      bool
	miningPools    []string
	malicious      []string
	outputs        []string
	outputMaxSize  int64
	outputKeep     int
	webhookHeaders []string
	syslogTag      string
	minPriority    string
	alertRate      int
	metricsListen  string
	sensors        []string
	noFIM          bool
	fimFiles       []string
	fimDirs        []string
	fimRescan      time.Duration
	noDocker       bool
	attrWait       time.Duration
	maxContainers  int
	once           bool
	duration       time.Duration
	check          bool
	printDefault   bool
	listRules      bool
	format         string
}

func newAgentCmd(g *globalFlags) *cobra.Command {
	f := &agentFlags{}
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Runtime agent: process, network and file events attributed to containers, rules, alerts",
		Long: `Watch what every process on this host does (eBPF sensor, or the netlink proc
connector when eBPF is unavailable), attribute each event to its Docker
container (name, image, labels, mounts) or to the host, evaluate the runtime
rules (the built-in set plus --rules files: YAML with CEL conditions) and
deliver alerts to the outputs. File integrity monitoring hashes the container
runtime's binaries (dockerd, containerd, containerd-shim, runc, docker) and
--fim-dir trees and alerts on change.

The agent runs until SIGTERM or SIGINT, then drains its queue and flushes
its outputs. It needs root (CAP_BPF, CAP_SYS_ADMIN, CAP_NET_ADMIN) and prints
the sensors it activated on standard error.

Outputs (--output, repeatable): stdout, file:PATH (JSON lines, rotated at
--output-max-size), webhook:URL (POST with retries), syslog or
syslog:udp://host:514 (also tcp://, unix://, unixgram://).

Exit codes: 0 clean shutdown (or --check passed), 1 an alert was raised with
--once, 2 error (bad rules, no sensor, bad flags).`,
		Example: `  # run as a daemon, alerts as JSON lines on stdout, metrics on loopback
  picket agent --metrics-listen 127.0.0.1:9464

  # alerts to a rotated file and a webhook, with mining-pool and malware lists
  picket agent --output file:/var/log/picket/alerts.jsonl --output webhook:https://siem.example/hook \
    --mining-pools /etc/picket/trails/crypto_mining.txt --malicious /etc/picket/trails/elf_mirai.txt

  # add rules, switch a built-in one off, check them without running
  picket agent --rules /etc/picket/rules.d --check

  # test mode: stop at the first alert (exit 1) or after 30s (exit 0)
  picket agent --once --duration 30s

  picket agent --list-rules --format json
  picket agent --print-default-rules > my-rules.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runAgent(cmd.Context(), g, f, cmd)
		},
	}
	fl := cmd.Flags()
	fl.StringSliceVar(&f.rules, "rules", nil, "rule files or directories (YAML + CEL), merged after the built-in rules (repeatable)")
	fl.BoolVar(&f.noDefault, "no-default-rules", false, "do not load the built-in rules")
	fl.StringSliceVar(&f.miningPools, "mining-pools", nil, "trails files of mining-pool hosts and addresses (e.g. maltrail's crypto_mining.txt)")
	fl.StringSliceVar(&f.malicious, "malicious", nil, "trails files of known-malicious hosts and addresses")
	fl.StringSliceVarP(&f.outputs, "output", "o", []string{"stdout"}, "alert outputs: stdout, file:PATH, webhook:URL, syslog[:ADDR] (repeatable)")
	fl.Int64Var(&f.outputMaxSize, "output-max-size", 100<<20, "rotate file outputs at this many bytes")
	fl.IntVar(&f.outputKeep, "output-keep", 5, "rotated files kept per file output")
	fl.StringSliceVar(&f.webhookHeaders, "webhook-header", nil, `HTTP header for webhooks, "Name: value" (repeatable)`)
	fl.StringVar(&f.syslogTag, "syslog-tag", "picket-agent", "syslog tag")
	fl.StringVar(&f.minPriority, "min-priority", "info", "drop alerts below this priority: critical, high, medium, low, info")
	fl.IntVar(&f.alertRate, "alert-rate", 20, "alerts per second per rule and container; the rest are counted and reported on the next alert (0: no bound)")
	fl.StringVar(&f.metricsListen, "metrics-listen", "", "serve Prometheus /metrics and /healthz on this host:port")
	fl.StringSliceVar(&f.sensors, "sensors", []string{sensor.EBPF, sensor.ProcConnector}, "sensors to try, in order of preference: ebpf, proc_connector")
	fl.BoolVar(&f.noFIM, "no-fim", false, "disable file integrity monitoring")
	fl.StringSliceVar(&f.fimFiles, "fim-file", nil, "files to watch instead of the container runtime's binaries (repeatable)")
	fl.StringSliceVar(&f.fimDirs, "fim-dir", nil, "directory trees to watch (repeatable), e.g. /etc/docker")
	fl.DurationVar(&f.fimRescan, "fim-rescan", time.Hour, "re-hash every watched file at this interval (0: never)")
	fl.BoolVar(&f.noDocker, "no-docker", false, "do not attribute events to Docker containers")
	fl.DurationVar(&f.attrWait, "attribution-wait", 2*time.Second, "longest an event waits for its container's lookup")
	fl.IntVar(&f.maxContainers, "max-containers", 4096, "bound of the container cache")
	fl.BoolVar(&f.once, "once", false, "test mode: stop after the first alert and exit 1")
	fl.DurationVar(&f.duration, "duration", 0, "test mode: stop after this long (exit 0 unless --once saw an alert)")
	fl.BoolVar(&f.check, "check", false, "load and validate the rules and lists, then exit")
	fl.BoolVar(&f.printDefault, "print-default-rules", false, "print the built-in rules and exit")
	fl.BoolVar(&f.listRules, "list-rules", false, "list the rules (after merging --rules) and exit")
	fl.StringVarP(&f.format, "format", "f", "table", "format of --list-rules: table, json")
	return cmd
}

func runAgent(ctx context.Context, g *globalFlags, f *agentFlags, cmd *cobra.Command) error {
	if f.printDefault {
		_, err := cmd.OutOrStdout().Write(rules.DefaultRules())
		return err
	}
	minSev, err := finding.ParseSeverity(f.minPriority)
	if err != nil || minSev < finding.Info {
		return fmt.Errorf("--min-priority %q: want critical, high, medium, low or info", f.minPriority)
	}
	if f.alertRate < 0 {
		return fmt.Errorf("--alert-rate %d: must be 0 or more", f.alertRate)
	}
	if f.format != "table" && f.format != "json" {
		return fmt.Errorf("--format %q: want table or json", f.format)
	}
	eng, err := rules.Load(rules.Options{NoDefaults: f.noDefault, Files: f.rules, MiningPools: f.miningPools, Malicious: f.malicious})
	if err != nil {
		return err
	}
	if f.listRules {
		return printRules(cmd, eng, f.format)
	}
	headers := map[string]string{}
	for _, h := range f.webhookHeaders {
		k, v, ok := strings.Cut(h, ":")
		if !ok || strings.TrimSpace(k) == "" {
			return fmt.Errorf("--webhook-header %q: want \"Name: value\"", h)
		}
		headers[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	if len(f.outputs) == 0 {
		return errors.New("--output: at least one output is needed")
	}
	if f.check {
		mining, bad := eng.IntelSizes()
		enabled := 0
		for _, r := range eng.Rules() {
			if r.Enabled {
				enabled++
			}
		}
		fmt.Fprintf(cmd.OutOrStdout(), "ok: %d rules (%d enabled), %d mining-pool and %d malicious indicators\n",
			len(eng.Rules()), enabled, mining, bad)
		return nil
	}
	if os.Geteuid() != 0 {
		g.logger.Warn("picket agent: not running as root; the sensors will probably fail to load")
	}

	var outs []output.Output
	defer func() {
		for _, o := range outs {
			o.Close()
		}
	}()
	for _, spec := range f.outputs {
		o, err := output.Open(spec, output.SpecOptions{FileMaxSize: f.outputMaxSize, FileKeep: f.outputKeep,
			Webhook: output.WebhookOptions{Headers: headers}, SyslogTag: f.syslogTag})
		if err != nil {
			return err
		}
		outs = append(outs, o)
	}

	var srcs []event.Source
	var fimNote string
	if !f.noFIM {
		fo := fim.Options{Dirs: f.fimDirs, Rescan: f.fimRescan, Logger: g.logger}
		if len(f.fimFiles) > 0 {
			fo.Files = f.fimFiles
		}
		mon, err := fim.New(fo)
		if err != nil {
			return err
		}
		srcs = append(srcs, mon)
		fimNote = fmt.Sprintf("fim=active(%d files)", len(mon.Watched()))
	} else {
		fimNote = "fim=disabled"
	}
	sens, rep, err := sensor.Open(ctx, agent.SensorOptions(sensor.WithSensors(f.sensors...), sensor.WithLogger(g.logger))...)
	if err != nil {
		return err
	}
	srcs = append(sens, srcs...)
	fmt.Fprintf(cmd.ErrOrStderr(), "picket agent: %s %s\n", rep, fimNote)

	var res *container.Resolver
	if !f.noDocker {
		res, err = container.New(nil, container.Options{Wait: f.attrWait, MaxContainers: f.maxContainers, Logger: g.logger})
		if err != nil {
			sensor.Close(sens)
			return err
		}
	}

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	if f.duration > 0 {
		var c2 context.CancelFunc
		runCtx, c2 = context.WithTimeout(runCtx, f.duration)
		defer c2()
	}
	var alerted sync.Once
	sawAlert := false
	cfg := agent.Config{Sources: srcs, Resolver: res, Rules: eng, Outputs: outs, MinSeverity: minSev, Logger: g.logger, AlertRate: f.alertRate}
	if f.once {
		cfg.OnAlert = func(*output.Alert) { alerted.Do(func() { sawAlert = true; cancel() }) }
	}
	a, err := agent.New(cfg)
	if err != nil {
		sensor.Close(sens)
		return err
	}
	outs = nil // the agent closes them

	if f.metricsListen != "" {
		l, err := net.Listen("tcp", f.metricsListen)
		if err != nil {
			sensor.Close(sens)
			return fmt.Errorf("--metrics-listen: %w", err)
		}
		srv := &http.Server{Handler: a.Handler(), ReadHeaderTimeout: 5 * time.Second}
		go srv.Serve(l)
		defer srv.Close()
		g.logger.Info("picket agent: metrics", "addr", l.Addr().String())
	}

	runErr := a.Run(runCtx)
	st := a.Stats()
	summary, _ := json.Marshal(st)
	g.logger.Info("picket agent: stopped", "stats", string(summary))
	if runErr != nil {
		return runErr
	}
	if sawAlert {
		return fmt.Errorf("%w: --once: an alert was raised", errPolicy)
	}
	return nil
}

func printRules(cmd *cobra.Command, eng *rules.Engine, format string) error {
	type row struct {
		ID          string   `json:"id"`
		Priority    string   `json:"priority"`
		Enabled     bool     `json:"enabled"`
		Tags        []string `json:"tags,omitempty"`
		Description string   `json:"description,omitempty"`
		Condition   string   `json:"condition"`
		Source      string   `json:"source"`
	}
	var rows []row
	for _, r := range eng.Rules() {
		rows = append(rows, row{ID: r.ID, Priority: string(r.Priority), Enabled: r.Enabled, Tags: r.Tags,
			Description: r.Description, Condition: r.Condition, Source: r.Pos.String()})
	}
	if format == "json" {
		enc := json.NewEncoder(cmd.OutOrStdout())
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	}
	tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tPRIORITY\tENABLED\tDESCRIPTION")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%v\t%s\n", r.ID, r.Priority, r.Enabled, r.Description)
	}
	return tw.Flush()
}
