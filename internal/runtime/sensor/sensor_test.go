//go:build linux

package sensor

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/picket-cdr/picket/internal/runtime/event"
	"github.com/picket-cdr/picket/internal/runtime/sensor/ebpf"
)

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("sensor: needs root (CAP_BPF, CAP_NET_ADMIN)")
	}
}

// runUntil runs src and returns the first event matching ok, or fails.
func runUntil(t *testing.T, src event.Source, trigger func(), ok func(*event.Event) bool) *event.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out := make(chan *event.Event, 4096)
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx, out) }()
	time.Sleep(200 * time.Millisecond) // Run has started reading
	trigger()
	for {
		select {
		case e := <-out:
			if ok(e) {
				cancel()
				<-done
				return e
			}
		case err := <-done:
			t.Fatalf("%s: Run returned before the event: %v", src.Name(), err)
		case <-ctx.Done():
			t.Fatalf("%s: no matching event within 20 s", src.Name())
		}
	}
}

func TestOpenPrefersEBPF(t *testing.T) {
	needRoot(t)
	srcs, rep, err := Open(context.Background(), WithProbes())
	if errors.Is(err, ErrNoSensor) {
		t.Skip("sensor: no sensor on this machine: " + err.Error())
	}
	if err != nil {
		t.Fatal(err)
	}
	defer Close(srcs)
	t.Log(rep.String())
	for _, p := range rep.Probes {
		t.Logf("probe %s ok=%v %s", p.Name, p.OK, p.Error)
	}
	if len(srcs) != 1 {
		t.Fatalf("got %d sources, want 1", len(srcs))
	}
	if srcs[0].Name() != EBPF {
		if strings.Contains(rep.Sensors[0].Reason, "verifier") {
			t.Fatalf("eBPF programs rejected: %s", rep.Sensors[0].Reason)
		}
		t.Skipf("sensor: eBPF not available here, fell back to %s: %s", srcs[0].Name(), rep)
	}
	if got := rep.Active(); len(got) != 1 || got[0] != EBPF {
		t.Fatalf("Active() = %v", got)
	}
	if len(rep.Sensors) != 3 || rep.Sensors[1].Active || rep.Sensors[1].Reason == "" || rep.Sensors[2].Active {
		t.Fatalf("fallback statuses = %+v, want inactive with a reason", rep.Sensors)
	}
	marker := "picket-sensor-test-" + time.Now().Format("150405.000000")
	e := runUntil(t, srcs[0], func() {
		if err := exec.Command("/bin/sh", "-c", "exit 7", marker).Run(); err == nil {
			t.Error("sh -c 'exit 7' succeeded")
		}
	}, func(e *event.Event) bool {
		return e.Kind == event.Exit && len(e.Proc.Args) == 4 && e.Proc.Args[3] == marker
	})
	if e.ExitCode != 7 || e.Signal != 0 || e.Sensor != EBPF {
		t.Fatalf("exit event = %+v, want code 7 from ebpf", e)
	}
}

func TestOpenProcConnectorFallback(t *testing.T) {
	needRoot(t)
	srcs, rep, err := Open(context.Background(), WithSensors(ProcConnector))
	if errors.Is(err, ErrNoSensor) {
		t.Skip("sensor: proc connector unavailable: " + err.Error())
	}
	if err != nil {
		t.Fatal(err)
	}
	defer Close(srcs)
	if srcs[0].Name() != ProcConnector || rep.Active()[0] != ProcConnector {
		t.Fatalf("got %s, report %s", srcs[0].Name(), rep)
	}
	var pid int
	e := runUntil(t, srcs[0], func() {
		cmd := exec.Command("/bin/sleep", "1")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		pid = cmd.Process.Pid
		go cmd.Wait()
	}, func(e *event.Event) bool {
		return e.Kind == event.Exec && int(e.Proc.PID) == pid
	})
	if e.Proc.Exe != "/usr/bin/sleep" && e.Proc.Exe != "/bin/sleep" {
		t.Errorf("exe = %q", e.Proc.Exe)
	}
	if len(e.Proc.Args) != 2 || e.Proc.Args[1] != "1" {
		t.Errorf("args = %q", e.Proc.Args)
	}
	if e.Proc.PPID != uint32(os.Getpid()) || e.Proc.CgroupID == 0 || e.Proc.MntNS == 0 {
		t.Errorf("proc = %+v", e.Proc)
	}
	if st := srcs[0].Stats(); st.Events[event.Exec] == 0 {
		t.Errorf("stats = %+v", st)
	}
}

// TestOpenFallbackWithFanotify forces the fallback: the proc connector and
// fanotify together; a write and a read in a watched directory are seen
// with the acting process.
func TestOpenFallbackWithFanotify(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	ws := []ebpf.Watch{{Prefix: dir + "/", Read: true, Write: true}}
	srcs, rep, err := Open(context.Background(), WithSensors(ProcConnector, Fanotify), WithEBPF(ebpf.WithWatches(ws)))
	if errors.Is(err, ErrNoSensor) {
		t.Skip("sensor: fallback sensors unavailable: " + err.Error())
	}
	if err != nil {
		t.Fatal(err)
	}
	defer Close(srcs)
	if got := rep.Active(); len(got) != 2 || got[0] != ProcConnector || got[1] != Fanotify {
		t.Fatalf("active = %v (%s)", got, rep)
	}
	fan := srcs[1]
	secret := filepath.Join(dir, "secret")
	e := runUntil(t, fan, func() {
		if err := exec.Command("/bin/sh", "-c", "echo s > "+secret).Run(); err != nil {
			t.Fatal(err)
		}
	}, func(e *event.Event) bool { return e.File != nil && e.File.Path == secret && e.File.Write })
	if e.Kind != event.Open || e.Sensor != Fanotify || e.Proc.PID == 0 {
		t.Fatalf("write event = %+v", e)
	}
}

func TestOpenUnknownSensor(t *testing.T) {
	_, _, err := Open(context.Background(), WithSensors("kprobe"))
	if err == nil || errors.Is(err, ErrNoSensor) {
		t.Fatalf("err = %v, want unknown sensor", err)
	}
}
