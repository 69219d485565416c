package agent

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/picket-cdr/picket/internal/runtime/event"
	"github.com/picket-cdr/picket/internal/runtime/output"
)

// countSource emits n events cycling through a realistic mix, then waits.
type countSource struct {
	evs    []*event.Event
	n      int
	unique bool // make every event different (no memo hits)
	sent   atomic.Int64
}

func (s *countSource) Name() string       { return "bench" }
func (s *countSource) Stats() event.Stats { return event.Stats{} }
func (s *countSource) Run(ctx context.Context, out chan<- *event.Event) error {
	for i := 0; i < s.n; i++ {
		ev := *s.evs[i%len(s.evs)]
		if s.unique {
			ev.Proc.Args = append([]string{ev.Proc.Comm}, strconv.Itoa(i))
			if ev.Net != nil {
				n := *ev.Net
				n.DstPort = uint16(20000 + i%10000) // no Stratum port in this range
				n.DstIP = "10.0." + strconv.Itoa(i/250%250) + "." + strconv.Itoa(i%250)
				ev.Net = &n
			}
			if ev.File != nil {
				ev.File = &event.File{Path: "/etc/app/" + strconv.Itoa(i)}
			}
		}
		select {
		case out <- &ev:
			s.sent.Add(1)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	<-ctx.Done()
	return ctx.Err()
}

// BenchmarkPipeline and BenchmarkPipelineUnique measure the agent's user-space cost per event (rules
// and alert path; attribution is pre-filled), over a mix of exec, fork,
// exit, open and connect events from containers and the host.
func BenchmarkPipeline(b *testing.B)       { benchPipeline(b, false) }
func BenchmarkPipelineUnique(b *testing.B) { benchPipeline(b, true) }

// benchPipeline: with unique, every event differs from the others (args,
// addresses, paths), so the rules' decision memo never hits.
func benchPipeline(b *testing.B, unique bool) {
	ctr := event.Container{ID: "c1", Name: "web", Image: "busybox:1"}
	host := event.Container{Host: true}
	mix := []*event.Event{
		{Kind: event.Exec, Container: ctr, Proc: event.Process{Comm: "exe", Exe: "/bin/busybox", Filename: "/proc/self/exe", Args: []string{"sleep", "1"}}},
		{Kind: event.Fork, Container: ctr, Proc: event.Process{Comm: "sh"}},
		{Kind: event.Exit, Container: ctr, Proc: event.Process{Comm: "sleep"}},
		{Kind: event.Exec, Container: host, Proc: event.Process{Comm: "bash", Exe: "/usr/bin/bash", Args: []string{"bash", "-c", "ls -l /tmp"}}},
		{Kind: event.Fork, Container: host, Proc: event.Process{Comm: "bash"}},
		{Kind: event.Exit, Container: host, Proc: event.Process{Comm: "ls"}},
		{Kind: event.Open, Container: ctr, Proc: event.Process{Comm: "nginx"}, File: &event.File{Path: "/etc/nginx/nginx.conf"}},
		{Kind: event.Connect, Container: ctr, Proc: event.Process{Comm: "curl"}, Net: &event.Net{Family: "ipv4", Proto: "tcp", DstIP: "10.0.0.2", DstPort: 443}},
	}
	eng := loadRules(b)
	src := &countSource{evs: mix, n: b.N, unique: unique}
	var alerts atomic.Int64
	a, err := New(Config{Sources: []event.Source{src}, Rules: eng, OnAlert: func(*output.Alert) { alerts.Add(1) }})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	b.ResetTimer()
	start := time.Now()
	go func() { done <- a.Run(ctx) }()
	for {
		st := a.Stats()
		var n uint64
		for _, v := range st.Events {
			n += v
		}
		if int(n) >= b.N && len(a.pending) == 0 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-done
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
	if alerts.Load() != 0 {
		b.Fatalf("%d alerts on benign events", alerts.Load())
	}
}
