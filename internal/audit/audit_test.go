package audit

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func rec(i int) Record {
	return Record{
		Time: time.Date(2026, 12, 4, 10, 0, i, 0, time.UTC), Identity: "alice", Groups: []string{"dev"},
		Source: "127.0.0.1:5000", Method: "POST", Path: "/containers/create", Decision: "deny",
		Rule: "no-privileged", Reason: "privileged <containers> & \"quotes\" \u00e9", Status: 403,
		Duration: 1500 * time.Microsecond,
		Extra:    map[string]any{"container": fmt.Sprintf("c%d", i), "ratio": 0.1, "n": 3, "nested": map[string]any{"b": 1, "a": []any{true, nil}}},
	}
}

func writeN(t *testing.T, path string, n int, opts ...Option) {
	t.Helper()
	w, err := Open(path, opts...)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		if _, err := w.Write(rec(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func verify(t *testing.T, data []byte) Result {
	t.Helper()
	res, err := Verify(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestWriteVerifyReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	writeN(t, path, 3)
	writeN(t, path, 2, WithSync(SyncInterval(time.Millisecond))) // continues the chain
	data, _ := os.ReadFile(path)
	res := verify(t, data)
	if !res.OK() || res.Records != 5 || res.LastSeq != 5 {
		t.Fatalf("result = %+v", res)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	first := lines[0]
	for _, want := range []string{`"seq":1`, `"prev":"` + Genesis + `"`, `"duration_ms":1.500`, `"container":"c0"`, `"decision":"deny"`, `"time":"2026-12-04T10:00:00Z"`} {
		if !strings.Contains(first, want) {
			t.Errorf("line 1 lacks %s: %s", want, first)
		}
	}
	if !strings.HasSuffix(first, `"}`) || !strings.Contains(first, `,"hash":"`) {
		t.Errorf("hash not last: %s", first)
	}
	w, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if seq, h := w.Head(); seq != 5 || h != res.LastHash {
		t.Errorf("Head = %d %s, want 5 %s", seq, h, res.LastHash)
	}
}

func TestTamperDetected(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	writeN(t, path, 5)
	data, _ := os.ReadFile(path)
	lines := strings.SplitAfter(string(data), "\n")[:5]
	join := func(ls ...string) []byte { return []byte(strings.Join(ls, "")) }
	tests := []struct {
		name     string
		data     []byte
		firstBad int
		reason   string
	}{
		{"edit field", join(lines[0], lines[1], strings.Replace(lines[2], `"deny"`, `"allow"`, 1), lines[3], lines[4]), 3, "hash mismatch"},
		{"edit extra", join(lines[0], strings.Replace(lines[1], `"c1"`, `"cX"`, 1), lines[2]), 2, "hash mismatch"},
		{"add field", join(lines[0], strings.Replace(lines[1], `{`, `{"x":1,`, 1)), 2, "hash mismatch"},
		{"delete middle", join(lines[0], lines[1], lines[3], lines[4]), 3, "seq 4 follows seq 2"},
		{"delete first", join(lines[1], lines[2]), 1, "seq 2 follows seq 0"},
		{"reorder", join(lines[0], lines[2], lines[1]), 2, "seq 3 follows seq 1"},
		{"duplicate", join(lines[0], lines[1], lines[1]), 3, "seq 2 follows seq 2"},
		{"renumber after delete", join(lines[0], strings.Replace(lines[2], `"seq":3`, `"seq":2`, 1)), 2, "prev does not match"},
		{"garbage", join(lines[0], "not json\n"), 2, "not a JSON object"},
		{"torn", join(lines[0], lines[1][:20]), 2, "incomplete"},
		{"trailing data", join(lines[0], strings.TrimSuffix(lines[1], "\n")+" {}\n"), 2, "trailing data"},
		{"missing hash", join(lines[0], `{"seq":2,"prev":"x"}`+"\n"), 2, "missing or invalid"},
		{"long line", join(lines[0], strings.Repeat("x", MaxLine+10)+"\n"), 2, "longer than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := verify(t, tt.data)
			if res.FirstBad != tt.firstBad || !strings.Contains(res.Reason, tt.reason) {
				t.Errorf("got line %d %q, want line %d %q", res.FirstBad, res.Reason, tt.firstBad, tt.reason)
			}
		})
	}
	if res := verify(t, data); !res.OK() {
		t.Fatalf("untouched log: %+v", res)
	}
	if res := verify(t, nil); !res.OK() || res.Records != 0 {
		t.Fatalf("empty log: %+v", res)
	}
}

func TestTornTailRecovered(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	writeN(t, path, 3)
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"seq":4,"prev":"ab`)
	f.Close()
	w, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if w.Truncated != int64(len(`{"seq":4,"prev":"ab`)) {
		t.Errorf("Truncated = %d", w.Truncated)
	}
	if _, err := w.Write(rec(9)); err != nil {
		t.Fatal(err)
	}
	w.Close()
	data, _ := os.ReadFile(path)
	if res := verify(t, data); !res.OK() || res.Records != 4 {
		t.Fatalf("after recovery: %+v", res)
	}
	// A whole file that is one torn line.
	p2 := filepath.Join(t.TempDir(), "torn.log")
	os.WriteFile(p2, []byte(`{"seq":1`), 0o600)
	w2, err := Open(p2)
	if err != nil {
		t.Fatal(err)
	}
	w2.Close()
}

func TestOpenRefusesTamperedTail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	writeN(t, path, 2)
	data, _ := os.ReadFile(path)
	os.WriteFile(path, bytes.Replace(data, []byte(`"c1"`), []byte(`"cZ"`), 1), 0o600)
	if _, err := Open(path); err == nil || !strings.Contains(err.Error(), "hash mismatch") {
		t.Fatalf("err = %v, want refusal to continue a tampered chain", err)
	}
}

func TestConcurrentWriters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	w, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				if _, err := w.Write(rec(i)); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	w.Close()
	if _, err := w.Write(rec(1)); err == nil {
		t.Error("write after close: no error")
	}
	data, _ := os.ReadFile(path)
	if res := verify(t, data); !res.OK() || res.Records != 400 {
		t.Fatalf("result = %+v", res)
	}
}

func TestWriteBatch(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	w, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	es, err := w.WriteBatch([]Record{rec(1), rec(2), rec(3)})
	if err != nil || len(es) != 3 || es[2].Seq != 3 {
		t.Fatalf("WriteBatch = %v, %v", es, err)
	}
	bad := rec(4)
	bad.Extra = map[string]any{"seq": 1}
	if es, err := w.WriteBatch([]Record{rec(4), bad, rec(5)}); err == nil || len(es) != 1 {
		t.Fatalf("WriteBatch with a bad record = %v, %v", es, err)
	}
	w.Close()
	data, _ := os.ReadFile(path)
	if res := verify(t, data); !res.OK() || res.Records != 4 {
		t.Fatalf("result = %+v", res)
	}
}

func TestExtraClash(t *testing.T) {
	w, err := Open(filepath.Join(t.TempDir(), "a.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for _, k := range []string{"identity", "seq", "hash", "prev"} {
		if _, err := w.Write(Record{Identity: "x", Extra: map[string]any{k: 1}}); err == nil {
			t.Errorf("extra %q: no error", k)
		}
	}
}

// TestSyslogForward forwards lines to a real syslog socket (a unixgram
// listener speaking the protocol log/syslog uses).
func TestSyslogForward(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "log")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Skip("unixgram sockets unavailable: " + err.Error())
	}
	defer conn.Close()
	sl, err := DialSyslog("unixgram", sock, "picket-audit")
	if err != nil {
		t.Fatal(err)
	}
	defer sl.Close()
	w, err := Open(filepath.Join(t.TempDir(), "a.log"), WithForwarder(sl), WithSync(SyncNone))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	e, err := w.Write(rec(1))
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 8192)
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	msg := string(buf[:n])
	if !strings.HasPrefix(msg, "<38>") || !strings.Contains(msg, "picket-audit") || !strings.Contains(msg, e.Hash) {
		t.Errorf("syslog message = %q", msg)
	}
}

func FuzzVerify(f *testing.F) {
	dir := f.TempDir()
	path := filepath.Join(dir, "a.log")
	w, _ := Open(path)
	for i := 0; i < 3; i++ {
		w.Write(rec(i))
	}
	w.Close()
	data, _ := os.ReadFile(path)
	f.Add(data)
	f.Add([]byte("{}\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		res, err := Verify(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if res.OK() && res.Records != bytes.Count(b, []byte("\n")) {
			t.Fatalf("OK with %d records for %d lines", res.Records, bytes.Count(b, []byte("\n")))
		}
	})
}

func BenchmarkWriteSyncEachParallel(b *testing.B) {
	w, err := Open(filepath.Join(b.TempDir(), "a.log"))
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	r := rec(1)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := w.Write(r); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkWriteNoSync(b *testing.B) {
	w, err := Open(filepath.Join(b.TempDir(), "a.log"), WithSync(SyncNone))
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	r := rec(1)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := w.Write(r); err != nil {
			b.Fatal(err)
		}
	}
}
