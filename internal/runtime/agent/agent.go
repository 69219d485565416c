// Package agent is the runtime agent's pipeline: event sources (the eBPF or
// proc-connector sensors, file integrity) feed one queue; each event is
// attributed to its container, evaluated by the rules, and every match
// becomes an alert delivered to the outputs. The agent exports Prometheus
// metrics (events per kind and per second, drops, rule hits, attribution
// misses, detection latency) and shuts down cleanly: when its context ends
// the sources stop, queued events are processed, outputs are flushed.
package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sys/unix"

	"github.com/picket-cdr/picket/internal/finding"
	"github.com/picket-cdr/picket/internal/runtime/container"
	"github.com/picket-cdr/picket/internal/runtime/event"
	"github.com/picket-cdr/picket/internal/runtime/output"
	"github.com/picket-cdr/picket/internal/runtime/rules"
)

// Config assembles an agent.
type Config struct {
	Sources []event.Source
	// Resolver attributes events to containers; nil leaves Container as
	// the sources set it.
	Resolver *container.Resolver
	Rules    *rules.Engine
	Outputs  []output.Output
	// OnAlert, when set, sees every alert after the outputs (tests,
	// --once).
	OnAlert func(*output.Alert)
	// MinSeverity drops alerts below it (default: keep all).
	MinSeverity finding.Severity
	// Registry receives the metrics (nil: a new one, see Agent.Registry).
	Registry *prometheus.Registry
	Logger   *slog.Logger
	Hostname string
	// QueueSize is the event queue between the sources and the pipeline
	// (default 65536).
	QueueSize int
	// MaxPending bounds the events waiting for a container lookup at once
	// (default 1024); beyond, events wait in line.
	MaxPending int
	// AlertRate bounds the alerts of one rule in one container (or on the
	// host) per second; the rest are counted
	// (picket_agent_alerts_suppressed_total) and the next alert that passes
	// says how many were suppressed. 0 means no bound.
	AlertRate int
}

// Agent runs the pipeline.
type Agent struct {
	cfg     Config
	log     *slog.Logger
	m       *metrics
	pending chan struct{}
	lat     *latencies

	mu     sync.Mutex
	alerts uint64

	rateMu sync.Mutex
	rates  map[rateKey]*rateWindow

	// names maps a pid to its program name (rules.ProcName), kept from
	// exec, fork and exit events by the dispatcher, in event order: a
	// web server's short-lived worker is gone from /proc by the time its
	// child's exec is processed, but not from here.
	names map[uint32]string
}

// maxNames bounds Agent.names; a full table starts over (parents then come
// from /proc).
const maxNames = 1 << 16

// track keeps Agent.names and names the parent of an exec when the sensor
// could not (ParentComm empty, or "exe" for a busybox applet).
func (a *Agent) track(ev *event.Event) {
	if a.names == nil || len(a.names) >= maxNames {
		a.names = make(map[uint32]string)
	}
	switch ev.Kind {
	case event.Exec:
		if ev.Proc.ParentComm == "" || ev.Proc.ParentComm == "exe" {
			if n, ok := a.names[ev.Proc.PPID]; ok && n != "" {
				ev.Proc.ParentComm = n
			}
		}
		a.names[ev.Proc.PID] = rules.ProcName(&ev.Proc)
	case event.Fork:
		if n, ok := a.names[ev.Proc.PPID]; ok {
			a.names[ev.Proc.PID] = n
		}
	case event.Exit:
		delete(a.names, ev.Proc.PID)
	}
}

type rateKey struct{ rule, container string }

type rateWindow struct {
	start      time.Time
	n          int
	suppressed int
}

// admit applies Config.AlertRate; it returns whether to raise the alert and
// how many alerts of the same key were suppressed since the last one.
func (a *Agent) admit(rule, container string, now time.Time) (bool, int) {
	if a.cfg.AlertRate <= 0 {
		return true, 0
	}
	a.rateMu.Lock()
	defer a.rateMu.Unlock()
	if a.rates == nil || len(a.rates) > 100000 {
		a.rates = map[rateKey]*rateWindow{}
	}
	k := rateKey{rule, container}
	w := a.rates[k]
	if w == nil {
		w = &rateWindow{start: now}
		a.rates[k] = w
	}
	if now.Sub(w.start) >= time.Second {
		w.start, w.n = now, 0
	}
	if w.n >= a.cfg.AlertRate {
		w.suppressed++
		return false, 0
	}
	w.n++
	s := w.suppressed
	w.suppressed = 0
	return true, s
}

// New checks the configuration.
func New(cfg Config) (*Agent, error) {
	if len(cfg.Sources) == 0 {
		return nil, errors.New("agent: no event source")
	}
	if cfg.Rules == nil {
		return nil, errors.New("agent: no rules")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 65536
	}
	if cfg.MaxPending <= 0 {
		cfg.MaxPending = 1024
	}
	if cfg.Hostname == "" {
		cfg.Hostname, _ = os.Hostname()
	}
	a := &Agent{cfg: cfg, log: cfg.Logger, pending: make(chan struct{}, cfg.MaxPending), lat: newLatencies(100000)}
	m, err := newMetrics(cfg.Registry, a)
	if err != nil {
		return nil, err
	}
	a.m = m
	return a, nil
}

// Registry returns the metrics registry.
func (a *Agent) Registry() *prometheus.Registry { return a.cfg.Registry }

// Run runs until ctx ends (or every source has failed), then drains the
// queue, flushes and closes the outputs. It returns nil after a clean
// shutdown.
func (a *Agent) Run(ctx context.Context) error {
	events := make(chan *event.Event, a.cfg.QueueSize)
	alerts := make(chan *output.Alert, 4096)

	// Outputs: one goroutine, in alert order.
	outDone := make(chan struct{})
	go func() {
		defer close(outDone)
		for al := range alerts {
			for _, o := range a.cfg.Outputs {
				if err := o.Write(context.Background(), al); err != nil {
					a.m.outputErrors.WithLabelValues(o.Name()).Inc()
					a.log.Warn("agent: output failed", "output", o.Name(), "err", err)
				}
			}
			if a.cfg.OnAlert != nil {
				a.cfg.OnAlert(al)
			}
		}
	}()

	// Attribution keeps its cache fresh for as long as the sources run.
	resCtx, stopRes := context.WithCancel(context.Background())
	resDone := make(chan struct{})
	if a.cfg.Resolver != nil {
		go func() { a.cfg.Resolver.Run(resCtx); close(resDone) }()
	} else {
		close(resDone)
	}

	// Sources.
	var srcWG sync.WaitGroup
	errs := make([]error, len(a.cfg.Sources))
	srcCtx, stopSrc := context.WithCancel(ctx)
	defer stopSrc()
	var failed sync.WaitGroup
	failed.Add(len(a.cfg.Sources))
	allFailed := make(chan struct{})
	for i, s := range a.cfg.Sources {
		srcWG.Add(1)
		go func() {
			defer srcWG.Done()
			err := s.Run(srcCtx, events)
			if err != nil && srcCtx.Err() == nil {
				errs[i] = fmt.Errorf("agent: source %s: %w", s.Name(), err)
				a.log.Error("agent: source stopped", "source", s.Name(), "err", err)
				failed.Done()
			}
		}()
	}
	go func() { failed.Wait(); close(allFailed) }()
	go func() {
		select {
		case <-ctx.Done():
		case <-allFailed:
			stopSrc()
		}
		srcWG.Wait()
		close(events)
	}()

	// Per-second rates.
	rateDone := make(chan struct{})
	rateStop := make(chan struct{})
	go func() { defer close(rateDone); a.m.rates(rateStop) }()

	// The pipeline: attribution, rules, alerts.
	var slow sync.WaitGroup
	for ev := range events {
		a.m.countEvent(ev)
		a.track(ev)
		if a.cfg.Resolver == nil || ev.Container.Host || ev.Container.ID != "" || a.cfg.Resolver.Ready(ev) {
			a.process(ev, alerts)
			continue
		}
		a.pending <- struct{}{}
		slow.Add(1)
		go func() {
			defer func() { <-a.pending; slow.Done() }()
			a.process(ev, alerts)
		}()
	}
	slow.Wait()
	close(alerts)
	<-outDone
	close(rateStop)
	<-rateDone
	stopRes()
	<-resDone
	var closeErrs []error
	for _, o := range a.cfg.Outputs {
		if err := o.Close(); err != nil {
			closeErrs = append(closeErrs, fmt.Errorf("agent: output %s: %w", o.Name(), err))
		}
	}
	select {
	case <-allFailed:
		if ctx.Err() == nil {
			return errors.Join(append(errs, closeErrs...)...)
		}
	default:
	}
	return errors.Join(closeErrs...)
}

// process attributes, evaluates and raises alerts for one event.
func (a *Agent) process(ev *event.Event, alerts chan<- *output.Alert) {
	ctx := context.Background()
	if r := a.cfg.Resolver; r != nil && !ev.Container.Host && ev.Container.ID == "" {
		if err := r.Attribute(ctx, ev); err != nil {
			a.m.attrMisses.Inc()
			a.log.Debug("agent: attribution", "pid", ev.Proc.PID, "err", err)
		}
		// Drop-and-execute when the sensor could not tell (storage drivers
		// other than kernel overlayfs, e.g. fuse-overlayfs): is the
		// executable in the container's writable layer?
		if ev.Kind == event.Exec && !ev.Container.Host && ev.Container.ID != "" && !ev.Proc.UpperLayer && !ev.Proc.ExeDeleted {
			if up, ok := r.UpperLayer(ev.Container.ID, ev.Proc.Exe); ok && up {
				ev.Proc.UpperLayer = true
			}
		}
	}
	if ev.Kind == event.Exec && (ev.Proc.ParentComm == "" || ev.Proc.ParentComm == "exe") && ev.Proc.PPID != 0 {
		// The sensor has not seen the parent exec (started before the
		// agent, or a forked worker such as a web server's), or the parent
		// is a busybox applet re-executed through /proc/self/exe (comm
		// "exe"): name it after its argv[0].
		if name := parentName(ev.Proc.PPID); name != "" {
			ev.Proc.ParentComm = name
		}
	}
	hits, err := a.cfg.Rules.Eval(ctx, ev)
	if err != nil {
		var ee *policyEvalError
		for _, e := range unwrapAll(err) {
			if errors.As(e, &ee) {
				a.m.ruleErrors.WithLabelValues(ee.RuleID).Inc()
			}
		}
	}
	for _, h := range hits {
		sev := rules.Severity(h.Rule.Priority)
		if sev < a.cfg.MinSeverity {
			continue
		}
		key := ev.Container.ID
		if ev.Container.Host {
			key = "host"
		}
		ok, suppressed := a.admit(h.Rule.ID, key, time.Now())
		if !ok {
			a.m.suppressed.WithLabelValues(h.Rule.ID).Inc()
			continue
		}
		al := a.alert(ev, h, sev)
		if suppressed > 0 {
			al.Attributes["suppressed"] = strconv.Itoa(suppressed)
		}
		a.m.ruleHits.WithLabelValues(h.Rule.ID, string(h.Rule.Priority)).Inc()
		if al.LatencyNS > 0 {
			a.m.latency.Observe(float64(al.LatencyNS) / 1e9)
			a.lat.add(time.Duration(al.LatencyNS))
		}
		a.mu.Lock()
		a.alerts++
		a.mu.Unlock()
		alerts <- al
	}
}

func (a *Agent) alert(ev *event.Event, h rules.Hit, sev finding.Severity) *output.Alert {
	now := time.Now()
	var lat int64
	if ev.KernelTime != 0 {
		if d := monotonic() - int64(ev.KernelTime); d > 0 {
			lat = d
		}
	}
	c := ev.Container
	target := a.cfg.Hostname
	loc := finding.Location{Host: a.cfg.Hostname, PID: int(ev.Proc.PID)}
	if !c.Host {
		loc.Container = c.Name
		if loc.Container == "" {
			loc.Container = c.ID
		}
		loc.Image, loc.ImageID = c.Image, c.ImageID
		target = loc.Container
	}
	if ev.File != nil {
		loc.Path = ev.File.Path
	} else if ev.Kind == event.Exec {
		loc.Path = ev.Proc.Exe
	}
	attrs := map[string]string{"event": string(ev.Kind)}
	if c.ID != "" {
		attrs["container_id"] = c.ID
	}
	if ev.Sensor != "" {
		attrs["sensor"] = ev.Sensor
	}
	return &output.Alert{
		Time:     now,
		Hostname: a.cfg.Hostname,
		Priority: string(h.Rule.Priority),
		Finding: finding.Finding{
			Kind:        finding.KindRuntime,
			Severity:    sev,
			RuleID:      h.Rule.ID,
			Title:       h.Message,
			Description: h.Rule.Description,
			Target:      target,
			Location:    loc,
			Evidence:    evidence(ev),
			Tags:        h.Rule.Tags,
			Attributes:  attrs,
		},
		Event:     ev,
		LatencyNS: lat,
	}
}

// parentName is the program name of a live process: basename of argv[0],
// else its comm.
func parentName(pid uint32) string {
	p := "/proc/" + strconv.Itoa(int(pid))
	if b, err := os.ReadFile(p + "/cmdline"); err == nil && len(b) > 0 {
		arg0, _, _ := strings.Cut(string(b), "\x00")
		if i := strings.LastIndexByte(arg0, '/'); i >= 0 {
			arg0 = arg0[i+1:]
		}
		if arg0 != "" {
			return arg0
		}
	}
	if b, err := os.ReadFile(p + "/comm"); err == nil {
		return strings.TrimSuffix(string(b), "\n")
	}
	return ""
}

// evidence is a one-line summary of the process.
func evidence(ev *event.Event) string {
	p := ev.Proc
	s := "pid=" + strconv.Itoa(int(p.PID)) + " comm=" + p.Comm
	if p.Exe != "" {
		s += " exe=" + p.Exe
	}
	if len(p.Args) > 0 {
		s += " args=" + fmt.Sprintf("%q", p.Args)
	}
	if p.ParentComm != "" {
		s += " parent=" + p.ParentComm
	}
	return s
}

// Stats summarises a run.
type Stats struct {
	Alerts      uint64                 `json:"alerts"`
	Events      map[string]uint64      `json:"events"`
	Sources     map[string]event.Stats `json:"sources"`
	Attribution *container.Stats       `json:"attribution,omitempty"`
	// Latency percentiles (kernel time to alert) over the last 100,000 alerts.
	LatencyP50 time.Duration `json:"latency_p50_ns"`
	LatencyP99 time.Duration `json:"latency_p99_ns"`
	LatencyMax time.Duration `json:"latency_max_ns"`
}

// Stats returns the counters so far.
func (a *Agent) Stats() Stats {
	a.mu.Lock()
	st := Stats{Alerts: a.alerts}
	a.mu.Unlock()
	st.Events = a.m.eventCounts()
	st.Sources = map[string]event.Stats{}
	for _, s := range a.cfg.Sources {
		st.Sources[s.Name()] = s.Stats()
	}
	if a.cfg.Resolver != nil {
		rs := a.cfg.Resolver.Stats()
		st.Attribution = &rs
	}
	st.LatencyP50, st.LatencyP99, st.LatencyMax = a.lat.percentiles()
	return st
}

// latencies keeps the last n detection latencies.
type latencies struct {
	mu   sync.Mutex
	buf  []time.Duration
	next int
	full bool
}

func newLatencies(n int) *latencies { return &latencies{buf: make([]time.Duration, n)} }

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.buf[l.next] = d
	l.next++
	if l.next == len(l.buf) {
		l.next, l.full = 0, true
	}
	l.mu.Unlock()
}

func (l *latencies) percentiles() (p50, p99, max time.Duration) {
	l.mu.Lock()
	n := l.next
	if l.full {
		n = len(l.buf)
	}
	s := append([]time.Duration(nil), l.buf[:n]...)
	l.mu.Unlock()
	if len(s) == 0 {
		return 0, 0, 0
	}
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return Percentile(s, 0.50), Percentile(s, 0.99), s[len(s)-1]
}

// Percentile of sorted durations (nearest rank).
func Percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	i = max(0, min(i, len(sorted)-1))
	return sorted[i]
}

// monotonic is CLOCK_MONOTONIC, the clock of Event.KernelTime.
func monotonic() int64 {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return ts.Nano()
}
