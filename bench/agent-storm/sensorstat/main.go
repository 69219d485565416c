// Command sensorstat runs the runtime sensors (sensor.Open) and counts
// what they deliver, for bench/agent-storm.sh. It prints "ready" on stderr
// once the sensors run, and on SIGTERM/SIGINT (or after -duration) one
// JSON object: events per kind, events matching the storm (execs whose
// last argument is -marker, connects to -port), kernel drops, user-space
// losses, latency from the kernel timestamp to receipt (p50/p99/max), its
// own CPU time and peak RSS.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/picket-cdr/picket/internal/runtime/event"
	"github.com/picket-cdr/picket/internal/runtime/sensor"
	"github.com/picket-cdr/picket/internal/runtime/sensor/ebpf"
)

type progStat struct {
	Runs     uint64  `json:"runs"`
	NsPerRun float64 `json:"ns_per_run"`
}

type result struct {
	Sensors      []string              `json:"sensors"`
	Seconds      float64               `json:"seconds"`
	Events       map[event.Kind]uint64 `json:"events"`
	MarkedExecs  uint64                `json:"marked_execs"`
	MarkedExits  uint64                `json:"marked_exits"`
	PortConnects uint64                `json:"port_connects"`
	PortAccepts  uint64                `json:"port_accepts"`
	KernelDrops  uint64                `json:"kernel_drops"`
	UserLost     uint64                `json:"user_lost"`
	Skipped      uint64                `json:"skipped"`
	LatencyP50ms float64               `json:"latency_p50_ms"`
	LatencyP99ms float64               `json:"latency_p99_ms"`
	LatencyMaxms float64               `json:"latency_max_ms"`
	CPUPercent   float64               `json:"cpu_percent"` // of one core
	PeakRSSMiB   float64               `json:"peak_rss_mib"`
	Received     uint64                `json:"received"`
	// Programs: per BPF program, runs and mean ns per run (kernel.bpf_stats_enabled).
	Programs      map[string]progStat `json:"programs,omitempty"`
	LatencySample int                 `json:"latency_samples"`
}

func main() {
	marker := flag.String("marker", "picket-storm", "count execs whose last argument is this")
	port := flag.Int("port", 0, "count connects/accepts to this loopback port")
	dur := flag.Duration("duration", 0, "stop after this long (0: on SIGTERM/SIGINT only)")
	chanSize := flag.Int("chan", 16384, "output channel size")
	ring := flag.Int("ring", 16<<20, "eBPF ring buffer bytes")
	progStats := flag.Bool("prog-stats", false, "measure each BPF program's run time (kernel.bpf_stats_enabled; adds two clock reads per run)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if *dur > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *dur)
		defer cancel()
	}
	srcs, rep, err := sensor.Open(ctx, sensor.WithEBPF(ebpf.WithRingBufferSize(*ring), ebpf.WithProgramStats(*progStats)))
	if err != nil {
		fmt.Fprintln(os.Stderr, "sensorstat:", err)
		os.Exit(2)
	}
	out := make(chan *event.Event, *chanSize)
	done := make(chan error, len(srcs))
	for _, s := range srcs {
		go func() { done <- s.Run(ctx, out) }()
	}
	fmt.Fprintln(os.Stderr, "ready", rep.String())

	var r result
	r.Sensors = rep.Active()
	lat := make([]int64, 0, 1<<20)
	var ru0 unix.Rusage
	unix.Getrusage(unix.RUSAGE_SELF, &ru0)
	start := time.Now()
	running := len(srcs)
loop:
	for {
		select {
		case e := <-out:
			r.Received++
			now := ebpf.Monotonic()
			switch {
			case e.Kind == event.Exec && marked(e, *marker):
				r.MarkedExecs++
			case e.Kind == event.Exit && marked(e, *marker):
				r.MarkedExits++
			case e.Kind == event.Connect && e.Net != nil && int(e.Net.DstPort) == *port && *port != 0:
				r.PortConnects++
			case e.Kind == event.Accept && e.Net != nil && int(e.Net.DstPort) == *port && *port != 0:
				r.PortAccepts++
			}
			if e.KernelTime != 0 && len(lat) < cap(lat) {
				lat = append(lat, now-int64(e.KernelTime))
			}
		case err := <-done:
			if err != nil {
				fmt.Fprintln(os.Stderr, "sensorstat: sensor:", err)
			}
			if running--; running == 0 {
				break loop
			}
		}
	}
	r.Seconds = time.Since(start).Seconds()
	var ru unix.Rusage
	unix.Getrusage(unix.RUSAGE_SELF, &ru)
	cpu := tv(ru.Utime) + tv(ru.Stime) - tv(ru0.Utime) - tv(ru0.Stime)
	r.CPUPercent = 100 * cpu / r.Seconds
	r.PeakRSSMiB = float64(ru.Maxrss) / 1024
	r.Events = map[event.Kind]uint64{}
	r.Programs = map[string]progStat{}
	for _, s := range srcs {
		if ps, ok := s.(interface {
			ProgramStats() map[string]ebpf.ProgramStat
		}); ok {
			for name, st := range ps.ProgramStats() {
				if st.Runs > 0 {
					r.Programs[name] = progStat{Runs: st.Runs, NsPerRun: float64(st.Runtime.Nanoseconds()) / float64(st.Runs)}
				}
			}
		}
	}
	for _, s := range srcs {
		st := s.Stats()
		for k, n := range st.Events {
			r.Events[k] += n
		}
		for _, d := range st.Drops {
			r.KernelDrops += d
		}
		r.UserLost += st.Lost
		r.Skipped += st.Skipped
	}
	slices.Sort(lat)
	r.LatencySample = len(lat)
	if n := len(lat); n > 0 {
		r.LatencyP50ms = float64(lat[n/2]) / 1e6
		r.LatencyP99ms = float64(lat[n*99/100]) / 1e6
		r.LatencyMaxms = float64(lat[n-1]) / 1e6
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	enc.Encode(r)
}

// marked: the storm's exec, argv ["true", MARKER].
func marked(e *event.Event, marker string) bool {
	a := e.Proc.Args
	return len(a) == 2 && a[0] == "true" && a[1] == marker
}

func tv(t unix.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
