package scan

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/picket-cdr/picket/internal/analyzer"
	"github.com/picket-cdr/picket/internal/image"
)

// zeroJar returns a jar whose single entry is n zero bytes, deflated (a
// thousandfold compression: the body of a zip bomb).
func zeroJar(t testing.TB, entry string, n int64) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create(entry)
	if err != nil {
		t.Fatal(err)
	}
	zero := make([]byte, 1<<20)
	for left := n; left > 0; left -= int64(len(zero)) {
		if _, err := w.Write(zero[:min(int64(len(zero)), left)]); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// jarOf wraps body as entry name in a new jar.
func jarOf(t testing.TB, name string, body []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(body)
	zw.Close()
	return buf.Bytes()
}

// hostileLayer holds what an attacker's image might: a zip bomb inside a
// jar (an inner jar that inflates to 512 MiB of zeros), a jar nested 40 levels deep, a
// gzip bomb, a file above the size limit, binary garbage marked
// executable, and ELF files with absurd headers.
func hostileLayer(t testing.TB) []byte {
	t.Helper()
	bomb := zeroJar(t, "BOOT-INF/lib/inner.jar", 512<<20)
	nested := jarOf(t, "META-INF/maven/x/y/pom.properties", []byte("groupId=x\nartifactId=y\nversion=1\n"))
	for i := 0; i < 40; i++ {
		nested = jarOf(t, "lib/level.jar", nested)
	}
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	zero := make([]byte, 1<<20)
	for i := 0; i < 256; i++ {
		zw.Write(zero)
	}
	zw.Close()
	garbage := make([]byte, 3<<20)
	rng := rand.New(rand.NewPCG(7, 7))
	for i := range garbage {
		garbage[i] = byte(rng.Uint32())
	}
	// ELF headers that lie: a program header table of 65535 entries past
	// the end of the file, and a section table that points at itself.
	badELF := func(phnum, shnum uint16, phoff, shoff uint64) string {
		h := make([]byte, 64)
		copy(h, "\x7fELF\x02\x01\x01")
		binary.LittleEndian.PutUint16(h[16:], 2)  // ET_EXEC
		binary.LittleEndian.PutUint16(h[18:], 62) // x86-64
		binary.LittleEndian.PutUint32(h[20:], 1)
		binary.LittleEndian.PutUint64(h[32:], phoff)
		binary.LittleEndian.PutUint64(h[40:], shoff)
		binary.LittleEndian.PutUint16(h[52:], 64)
		binary.LittleEndian.PutUint16(h[54:], 56)
		binary.LittleEndian.PutUint16(h[56:], phnum)
		binary.LittleEndian.PutUint16(h[58:], 64)
		binary.LittleEndian.PutUint16(h[60:], shnum)
		binary.LittleEndian.PutUint16(h[62:], shnum-1)
		return string(append(h, garbage[:4096]...))
	}
	return mkTar(t,
		tarFile{Name: "app/bomb.jar", Body: string(bomb)},
		tarFile{Name: "app/nested.jar", Body: string(nested)},
		tarFile{Name: "var/backups/bomb.gz", Body: gz.String()},
		tarFile{Name: "opt/data/huge.bin", Body: strings.Repeat("A", 40<<20)},
		tarFile{Name: "usr/local/bin/garbage", Body: string(garbage), Mode: 0o755},
		tarFile{Name: "usr/local/bin/badelf1", Body: badELF(65535, 0, 1<<40, 0), Mode: 0o755},
		tarFile{Name: "usr/local/bin/badelf2", Body: badELF(1, 65535, 64, 64), Mode: 0o755},
		tarFile{Name: "tmp/.x/badelf3", Body: badELF(0, 2, 0, 1<<62), Mode: 0o755},
	)
}

// peakHeap samples the heap until stop is called and returns the highest
// in-use figure seen.
func peakHeap() (stop func() uint64) {
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var ms runtime.MemStats
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	return func() uint64 { close(done); wg.Wait(); return peak.Load() }
}

// Hostile content inside a layer ends the scan with bounded memory, each
// problem counted (too large, analyzer errors) rather than silently lost,
// and the rest of the layer still analysed.
func TestHostileLayerContent(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 40 MiB layer and a zip bomb")
	}
	layerTar := hostileLayer(t)
	ref := "docker-archive:" + mkDockerSave(t, [][]byte{layerTar}, nil)
	runtime.GC()
	stop := peakHeap()
	// The deadline only guarantees the test ends; the scan takes seconds.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	rep, err := New(WithAnalyzers(analyzer.All()), WithMaxFileSize(16<<20)).Scan(ctx, ref, image.Options{})
	peak := stop()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("peak heap in use %d MiB; stats %+v", peak>>20, rep.Stats)
	// The zip bomb alone would need 512 MiB; Picket's own buffers stay
	// well below that.
	if peak > 384<<20 {
		t.Errorf("peak heap %d MiB: memory is not bounded", peak>>20)
	}
	if rep.Stats.SkippedTooLarge != 1 {
		t.Errorf("SkippedTooLarge = %d, want 1 (opt/data/huge.bin)", rep.Stats.SkippedTooLarge)
	}
	// Each problem is in the report, with its path: the zip bomb names
	// the nested archive that is over the limit.
	var scanNotes []string
	for _, f := range rep.Findings {
		if f.Kind == "scan" {
			scanNotes = append(scanNotes, f.RuleID+" "+f.Location.Path+" "+f.Evidence)
		}
	}
	joined := strings.Join(scanNotes, "\n")
	for _, want := range []string{
		"/app/bomb.jar", "BOOT-INF/lib/inner.jar (512 MiB)",
		"/app/nested.jar", "max zip depth",
		"/usr/local/bin/badelf1", "/tmp/.x/badelf3",
		"PKT-SCAN-FILE-TOO-LARGE",
	} {
		if !strings.Contains(joined, want) {
			t.Errorf("%q not reported; scan notes:\n%s", want, joined)
		}
	}
	if rep.Stats.AnalyzerErrors < 3 {
		t.Errorf("%d analyzer errors counted, want at least 3", rep.Stats.AnalyzerErrors)
	}
}
