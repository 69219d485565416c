package output

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/picket-cdr/picket/internal/finding"
	"github.com/picket-cdr/picket/internal/runtime/event"
)

func alert(rule string, sev finding.Severity) *Alert {
	return &Alert{Time: time.Unix(1700000000, 0).UTC(), Hostname: "h1", Priority: strings.ToLower(sev.String()),
		Finding: finding.Finding{Kind: finding.KindRuntime, Severity: sev, RuleID: rule, Title: "t " + rule,
			Location: finding.Location{Container: "web", PID: 42}},
		Event: &event.Event{Kind: event.Exec, Proc: event.Process{PID: 42, Comm: "sh"}, Container: event.Container{Name: "web"}}}
}

func TestJSONLines(t *testing.T) {
	var buf bytes.Buffer
	j := NewJSON("buf", &buf)
	for _, r := range []string{"a", "b"} {
		if err := j.Write(context.Background(), alert(r, finding.High)); err != nil {
			t.Fatal(err)
		}
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines: %q", len(lines), buf.String())
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(lines[1]), &m); err != nil {
		t.Fatal(err)
	}
	if m["ruleId"] != "b" || m["severity"] != "HIGH" || m["priority"] != "high" || m["kind"] != "runtime" {
		t.Errorf("line: %v", m)
	}
	ev := m["event"].(map[string]any)
	if ev["kind"] != "exec" || ev["container"].(map[string]any)["name"] != "web" {
		t.Errorf("event: %v", ev)
	}
	if j.Stats().Written != 2 {
		t.Errorf("stats %+v", j.Stats())
	}
}

func TestFileRotation(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "sub", "alerts.jsonl")
	line, _ := json.Marshal(alert("r", finding.Low))
	size := int64(len(line)+1) * 3 // three alerts a file
	f, err := NewFile(p, size, 2)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		if err := f.Write(context.Background(), alert("r", finding.Low)); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	count := func(name string) int {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		return strings.Count(string(b), "\n")
	}
	// 10 alerts: alerts.jsonl has the last 1, .1 and .2 three each, the
	// oldest three were rotated away (keep 2).
	if n := count(p); n != 1 {
		t.Errorf("current file: %d alerts", n)
	}
	for _, s := range []string{".1", ".2"} {
		if n := count(p + s); n != 3 {
			t.Errorf("%s: %d alerts", s, n)
		}
	}
	if _, err := os.Stat(p + ".3"); !os.IsNotExist(err) {
		t.Errorf(".3 exists: %v", err)
	}
	// Reopening appends.
	f, err = NewFile(p, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(context.Background(), alert("r", finding.Low))
	f.Close()
	if n := count(p); n != 2 {
		t.Errorf("after reopen: %d alerts", n)
	}
}

func TestWebhookRetries(t *testing.T) {
	var calls atomic.Int32
	got := make(chan map[string]any, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer x" || r.Header.Get("Content-Type") != "application/json" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		if calls.Add(1) <= 2 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		var m map[string]any
		json.NewDecoder(r.Body).Decode(&m)
		got <- m
	}))
	defer srv.Close()
	w, err := NewWebhook(srv.URL, WebhookOptions{Headers: map[string]string{"Authorization": "Bearer x"}, Backoff: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(context.Background(), alert("rs", finding.Critical)); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-got:
		if m["ruleId"] != "rs" {
			t.Errorf("body %v", m)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("not delivered")
	}
	w.Close()
	if st := w.Stats(); st.Written != 1 || st.Dropped != 0 || calls.Load() != 3 {
		t.Errorf("stats %+v after %d calls", st, calls.Load())
	}
}

func TestWebhookFailures(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(http.StatusForbidden) // not retried
	}))
	defer srv.Close()
	w, _ := NewWebhook(srv.URL, WebhookOptions{Backoff: time.Millisecond})
	w.Write(context.Background(), alert("a", finding.High))
	w.Close()
	if st := w.Stats(); st.Errors != 1 || st.Dropped != 1 || calls.Load() != 1 {
		t.Errorf("403: stats %+v, %d calls", st, calls.Load())
	}
	// A dead endpoint: retried, then dropped, and Close still returns.
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	w, _ = NewWebhook("http://"+addr+"/x", WebhookOptions{Backoff: time.Millisecond, Retries: 2})
	w.Write(context.Background(), alert("a", finding.High))
	w.Close()
	if st := w.Stats(); st.Errors != 1 || st.Written != 0 {
		t.Errorf("dead endpoint: stats %+v", st)
	}
	if _, err := NewWebhook("ftp://x", WebhookOptions{}); err == nil {
		t.Error("ftp URL accepted")
	}
	// A full queue drops and counts.
	block := make(chan struct{})
	srv2 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-block }))
	defer srv2.Close()
	w, _ = NewWebhook(srv2.URL, WebhookOptions{Queue: 1, Timeout: 100 * time.Millisecond, Retries: -1})
	var errs int
	for i := 0; i < 5; i++ {
		if w.Write(context.Background(), alert("a", finding.High)) != nil {
			errs++
		}
	}
	close(block)
	w.Close()
	if errs < 3 || w.Stats().Dropped < 3 {
		t.Errorf("full queue: %d write errors, stats %+v", errs, w.Stats())
	}
}

func TestSyslog(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "log.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	s, err := NewSyslog("unixgram://"+sock, "picket-test")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Write(context.Background(), alert("crit-rule", finding.Critical)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64<<10)
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	msg := string(buf[:n])
	// <26> = facility daemon (3) * 8 + crit (2).
	if !strings.HasPrefix(msg, "<26>") || !strings.Contains(msg, "picket-test") || !strings.Contains(msg, `"ruleId":"crit-rule"`) {
		t.Errorf("syslog message %q", msg)
	}

	// Remote over TCP.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	lines := make(chan string, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		line, _ := bufio.NewReader(c).ReadString('\n')
		lines <- line
	}()
	st, err := NewSyslog("tcp://"+l.Addr().String(), "")
	if err != nil {
		t.Fatal(err)
	}
	st.Write(context.Background(), alert("low-rule", finding.Low))
	select {
	case line := <-lines:
		if !strings.HasPrefix(line, "<29>") || !strings.Contains(line, "low-rule") { // daemon*8 + notice(5)
			t.Errorf("tcp syslog %q", line)
		}
	case <-time.After(5 * time.Second):
		t.Error("nothing received over tcp")
	}
	st.Close()
	for _, bad := range []string{"udp:/x", "smtp://x:25"} {
		if _, err := NewSyslog(bad, ""); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	for _, spec := range []string{"stdout", "file:" + filepath.Join(dir, "a.jsonl"), "webhook:http://127.0.0.1:1/x"} {
		o, err := Open(spec, SpecOptions{})
		if err != nil {
			t.Errorf("%s: %v", spec, err)
			continue
		}
		o.Close()
	}
	for _, spec := range []string{"", "stdout:x", "file:", "kafka:x", "webhook:nope"} {
		if _, err := Open(spec, SpecOptions{}); err == nil {
			t.Errorf("%q accepted", spec)
		}
	}
}
