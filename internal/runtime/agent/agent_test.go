package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/picket-cdr/picket/internal/finding"
	"github.com/picket-cdr/picket/internal/runtime/event"
	"github.com/picket-cdr/picket/internal/runtime/fim"
	"github.com/picket-cdr/picket/internal/runtime/output"
	"github.com/picket-cdr/picket/internal/runtime/rules"
)

// listSource replays events, then waits for the end.
type listSource struct {
	evs []*event.Event
	n   int
	mu  sync.Mutex
}

func (s *listSource) Name() string { return "list" }
func (s *listSource) Run(ctx context.Context, out chan<- *event.Event) error {
	for _, ev := range s.evs {
		select {
		case out <- ev:
			s.mu.Lock()
			s.n++
			s.mu.Unlock()
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	<-ctx.Done()
	return ctx.Err()
}
func (s *listSource) Stats() event.Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return event.Stats{Events: map[event.Kind]uint64{event.Exec: uint64(s.n)}, Drops: []uint64{0, 3}, Lost: 1}
}

type failSource struct{}

func (failSource) Name() string                                   { return "fail" }
func (failSource) Run(context.Context, chan<- *event.Event) error { return io.ErrUnexpectedEOF }
func (failSource) Stats() event.Stats                             { return event.Stats{} }

func loadRules(t testing.TB) *rules.Engine {
	t.Helper()
	e, err := rules.Load(rules.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestPipeline(t *testing.T) {
	ctr := event.Container{ID: strings.Repeat("a", 64), Name: "web", Image: "busybox:1"}
	var evs []*event.Event
	for i := 0; i < 1000; i++ { // benign
		evs = append(evs, &event.Event{Kind: event.Exec, Sensor: "list", Container: ctr, Proc: event.Process{PID: uint32(i), Comm: "sleep", Exe: "/bin/sleep"}})
	}
	evs = append(evs, &event.Event{Kind: event.Exec, Sensor: "list", Container: ctr, KernelTime: uint64(monotonic()),
		Proc: event.Process{PID: 7, Comm: "sh", Exe: "/bin/busybox", Args: []string{"sh"}, TTY: true}})
	evs = append(evs, &event.Event{Kind: event.DupFD, Sensor: "list", Container: ctr, Proc: event.Process{PID: 8, Comm: "sh"}, Dup: &event.Dup{OldFD: 3, NewFD: 0, Socket: true}})
	var buf bytes.Buffer
	var mu sync.Mutex
	var got []*output.Alert
	src := &listSource{evs: evs}
	a, err := New(Config{Sources: []event.Source{src}, Rules: loadRules(t), Hostname: "h1",
		Outputs: []output.Output{output.NewJSON("buf", &buf)},
		OnAlert: func(al *output.Alert) { mu.Lock(); got = append(got, al); mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- a.Run(ctx) }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n >= 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Metrics while running.
	srv := httptest.NewServer(a.Handler())
	resp, err := srv.Client().Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	srv.Close()
	for _, want := range []string{
		`picket_agent_events_total{kind="exec",sensor="list"} 1001`,
		`picket_agent_rule_hits_total{priority="critical",rule="reverse-shell"} 1`,
		`picket_agent_rule_hits_total{priority="medium",rule="terminal-shell-in-container"} 1`,
		`picket_agent_drops_total{cpu="1",sensor="list",where="kernel"} 3`,
		`picket_agent_drops_total{cpu="",sensor="list",where="user"} 1`,
		`picket_agent_detection_latency_seconds_count 1`,
		`picket_agent_attribution_misses_total 0`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if len(got) != 2 || got[0].RuleID != "terminal-shell-in-container" || got[1].RuleID != "reverse-shell" {
		t.Fatalf("alerts %v", got)
	}
	al := got[0]
	if al.Kind != finding.KindRuntime || al.Severity != finding.Medium || al.Location.Container != "web" || al.Location.Image != "busybox:1" ||
		al.Target != "web" || al.Hostname != "h1" || al.LatencyNS <= 0 || al.Attributes["container_id"] != ctr.ID {
		t.Errorf("alert %+v", al)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("output: %q", buf.String())
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(lines[1]), &m); err != nil || m["ruleId"] != "reverse-shell" {
		t.Errorf("output line %s: %v", lines[1], err)
	}
	st := a.Stats()
	if st.Alerts != 2 || st.Events["exec"] != 1001 || st.LatencyP99 <= 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestMinSeverity(t *testing.T) {
	ctr := event.Container{ID: "x", Name: "web"}
	src := &listSource{evs: []*event.Event{
		{Kind: event.Exec, Container: ctr, Proc: event.Process{Comm: "sh", TTY: true}},                                          // medium
		{Kind: event.DupFD, Container: ctr, Proc: event.Process{Comm: "nc"}, Dup: &event.Dup{OldFD: 3, NewFD: 1, Socket: true}}, // critical
	}}
	var got []string
	var mu sync.Mutex
	a, _ := New(Config{Sources: []event.Source{src}, Rules: loadRules(t), MinSeverity: finding.High,
		OnAlert: func(al *output.Alert) { mu.Lock(); got = append(got, al.RuleID); mu.Unlock() }})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := a.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != "reverse-shell" {
		t.Errorf("alerts %v", got)
	}
}

func TestAllSourcesFail(t *testing.T) {
	a, _ := New(Config{Sources: []event.Source{failSource{}}, Rules: loadRules(t)})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := a.Run(ctx)
	if err == nil || !strings.Contains(err.Error(), "source fail") {
		t.Errorf("Run = %v, want the source's error", err)
	}
	if _, err := New(Config{Rules: loadRules(t)}); err == nil {
		t.Error("no sources accepted")
	}
}

// TestFIMAlert: a change to a runtime binary under file-integrity
// monitoring becomes a runtime-binary-modified alert (a copy of runc in a
// temporary directory stands in for /usr/sbin/runc).
func TestFIMAlert(t *testing.T) {
	dir := t.TempDir()
	runc := filepath.Join(dir, "runc")
	if err := os.WriteFile(runc, []byte("genuine"), 0o755); err != nil {
		t.Fatal(err)
	}
	mon, err := fim.New(fim.Options{Files: []string{runc}})
	if err != nil {
		t.Fatal(err)
	}
	alerts := make(chan *output.Alert, 4)
	a, _ := New(Config{Sources: []event.Source{mon}, Rules: loadRules(t), OnAlert: func(al *output.Alert) { alerts <- al }})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- a.Run(ctx) }()
	time.Sleep(200 * time.Millisecond)
	if err := os.WriteFile(runc, []byte("trojaned"), 0o755); err != nil {
		t.Fatal(err)
	}
	select {
	case al := <-alerts:
		if al.RuleID != "runtime-binary-modified" || al.Severity != finding.Critical || al.Location.Path != runc || al.Event.Integrity.Change != "modified" {
			t.Errorf("alert %+v", al)
		}
		t.Logf("FIM alert after %s: %s", time.Duration(al.LatencyNS), al.Title)
	case <-time.After(5 * time.Second):
		t.Fatal("no alert")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestAlertRate: a flood of one rule in one container is bounded per
// second; the suppressed alerts are counted and reported on the next one.
func TestAlertRate(t *testing.T) {
	ctr := event.Container{ID: "c1", Name: "miner"}
	other := event.Container{ID: "c2", Name: "other"}
	var evs []*event.Event
	for i := 0; i < 50; i++ {
		evs = append(evs, &event.Event{Kind: event.Connect, Container: ctr, Proc: event.Process{Comm: "xmrig"},
			Net: &event.Net{Family: "ipv4", DstIP: "10.0.0.9", DstPort: 3333}})
	}
	evs = append(evs, &event.Event{Kind: event.Connect, Container: other, Proc: event.Process{Comm: "xmrig"},
		Net: &event.Net{Family: "ipv4", DstIP: "10.0.0.9", DstPort: 3333}})
	var mu sync.Mutex
	count := map[string]int{}
	a, _ := New(Config{Sources: []event.Source{&listSource{evs: evs}}, Rules: loadRules(t), AlertRate: 5,
		OnAlert: func(al *output.Alert) { mu.Lock(); count[al.Event.Container.Name]++; mu.Unlock() }})
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	if err := a.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if count["miner"] != 5 || count["other"] != 1 {
		t.Errorf("alerts per container %v, want 5 and 1", count)
	}
	if ok, n := a.admit("crypto-miner-port", "c1", time.Now().Add(2*time.Second)); !ok || n != 45 {
		t.Errorf("next window: admitted %v, suppressed %d, want 45", ok, n)
	}
}

// TestParentNames: a shell exec'd by a web server's forked worker names the
// server as its parent even when the worker is long gone from /proc, from
// the exec and fork events seen before.
func TestParentNames(t *testing.T) {
	ctr := event.Container{ID: "c", Name: "web"}
	const gone = 1 << 30 // no such pid in /proc
	evs := []*event.Event{
		{Kind: event.Exec, Container: ctr, Proc: event.Process{PID: gone, PPID: 1, Comm: "exe", Exe: "/bin/busybox", Args: []string{"httpd", "-p", "80"}}},
		{Kind: event.Fork, Container: ctr, Proc: event.Process{PID: gone + 1, PPID: gone, Comm: "httpd"}},
		{Kind: event.Fork, Container: ctr, Proc: event.Process{PID: gone + 2, PPID: gone + 1, Comm: "httpd"}},
		{Kind: event.Exec, Container: ctr, Proc: event.Process{PID: gone + 3, PPID: gone + 2, Comm: "x", ParentComm: "exe", Exe: "/bin/busybox", Args: []string{"/bin/sh", "x"}}},
		{Kind: event.Exit, Container: ctr, Proc: event.Process{PID: gone + 2}},
	}
	var mu sync.Mutex
	var got []*output.Alert
	a, _ := New(Config{Sources: []event.Source{&listSource{evs: evs}}, Rules: loadRules(t),
		OnAlert: func(al *output.Alert) { mu.Lock(); got = append(got, al); mu.Unlock() }})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := a.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].RuleID != "shell-from-server" || got[0].Event.Proc.ParentComm != "httpd" {
		t.Fatalf("alerts %v", got)
	}
	if _, ok := a.names[gone+2]; ok {
		t.Error("exited pid still named")
	}
}
