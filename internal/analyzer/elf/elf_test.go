package elf

import (
	"errors"
	"io/fs"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/picket-cdr/picket/internal/analyzer"
	"github.com/picket-cdr/picket/internal/analyzer/analyzertest"
	"github.com/picket-cdr/picket/internal/finding"
)

// byRule indexes findings by rule id.
func byRule(fs []*finding.Finding) map[string]*finding.Finding {
	m := map[string]*finding.Finding{}
	for _, f := range fs {
		m[f.RuleID] = f
	}
	return m
}

func analyze(t testing.TB, p string, b []byte, mode fs.FileMode) (map[string]*finding.Finding, error) {
	t.Helper()
	res, err := elfAnalyzer{}.Analyze(t.Context(), analyzertest.Input(p, b, mode))
	if err != nil {
		return nil, err
	}
	for _, f := range res.Findings {
		t.Logf("%s %s %s: %s | %s | evidence %q", f.Severity, f.RuleID, f.Location.Path, f.Title, f.Attributes["indicators"], f.Evidence)
		if f.Kind != finding.KindMalware || f.Location.Path != p || f.Title == "" || f.Remediation == "" || len(f.Tags) == 0 {
			t.Errorf("incomplete finding %+v", f)
		}
	}
	return byRule(res.Findings), nil
}

func want(t *testing.T, got map[string]*finding.Finding, rule string, min finding.Severity, tag string) *finding.Finding {
	t.Helper()
	f := got[rule]
	if f == nil {
		t.Fatalf("no %s finding; got %v", rule, keys(got))
	}
	if f.Severity < min {
		t.Errorf("%s: severity %s, want at least %s (%s)", rule, f.Severity, min, f.Attributes["indicators"])
	}
	if tag != "" && !strings.Contains(strings.Join(f.Tags, ","), tag) {
		t.Errorf("%s: tags %v lack %s", rule, f.Tags, tag)
	}
	return f
}

func keys(m map[string]*finding.Finding) []string {
	var out []string
	for k, f := range m {
		out = append(out, k+"/"+f.Severity.String())
	}
	return out
}

// TestCatalogueMasked checks that no string of this package spells an
// indicator: Picket's own binary must not look like a miner or a rootkit.
func TestCatalogueMasked(t *testing.T) {
	strMatcher()
	var texts []string
	for _, ind := range catalogue {
		texts = append(texts, ind.pat, ind.label)
	}
	for _, r := range []rule{rulePacked, ruleMiner, ruleRootkit, ruleBackdoor} {
		texts = append(texts, r.id, r.title, r.desc, r.remedy)
	}
	for _, ind := range indicators {
		if ind.cat == catMeta || ind.label == labelUPXMagic {
			continue
		}
		for _, s := range texts {
			if strings.Contains(strings.ToLower(s), strings.ToLower(ind.pat)) {
				t.Errorf("%q spells the indicator %q", s, ind.pat)
			}
		}
	}
}

func TestRequired(t *testing.T) {
	tests := []struct {
		path string
		mode fs.FileMode
		size int64
		want bool
	}{
		{"/usr/bin/ls", 0o755, 100 << 10, true},
		{"/usr/lib/x86_64-linux-gnu/libc.so.6", 0o644, 2 << 20, true},
		{"/usr/local/lib/libprocesshider.so", 0o644, 20 << 10, true},
		{"/tmp/x", 0o644, 1 << 20, true},
		{"/dev/shm/.x/y", 0o600, 1 << 20, true},
		{"/usr/share/.hidden/bin", 0o644, 1 << 20, true},
		{"/root/.cache/pip/http/abc", 0o644, 1 << 20, false},
		{"/usr/share/doc/README", 0o644, 1 << 10, false},
		{"/usr/bin/huge", 0o755, 1 << 30, true},
		{"/tmp/huge", 0o644, maxScan + 1, false},
		{"/usr/bin/tiny", 0o755, 10, false},
	}
	for _, tt := range tests {
		info := analyzertest.Info{Path: tt.path, Length: tt.size, FMode: tt.mode}
		if got := (elfAnalyzer{}).Required(tt.path, info); got != tt.want {
			t.Errorf("Required(%s, %v, %d) = %v", tt.path, tt.mode, tt.size, got)
		}
	}
	dir := analyzertest.Info{Path: "/tmp/d", Length: 4096, FMode: fs.ModeDir | 0o755}
	if (elfAnalyzer{}).Required("/tmp/d", dir) {
		t.Error("wants a directory")
	}
}

func TestOddPlaces(t *testing.T) {
	tests := []struct {
		path string
		sev  finding.Severity // Unknown: not odd
	}{
		{"/usr/bin/ls", finding.Unknown},
		{"/opt/app/bin/server", finding.Unknown},
		{"/root/.cargo/bin/rustc", finding.Unknown},
		{"/app/.venv/lib/python3.12/site-packages/x.so", finding.Unknown},
		{"/app/node_modules/.pnpm/esbuild@0.20/node_modules/esbuild/bin/esbuild", finding.Unknown},
		{"/usr/lib/debug/.build-id/ab/cdef.debug", finding.Unknown},
		{"/tmp/kdevtmpfsi", finding.Medium},
		{"/var/tmp/x", finding.Medium},
		{"/tmp/.X11-unix/x", finding.High},
		{"/tmp/.cache/x", finding.Medium},
		{"/dev/shm/x", finding.High},
		{"/usr/bin/.sshd", finding.Medium},
		{"/etc/.configrc/a/upd", finding.Medium},
		{"/usr/lib/.../x", finding.High},
		{"/usr/lib/ /x", finding.High},
	}
	for _, tt := range tests {
		pl, ok := oddPlace(tt.path)
		got := finding.Unknown
		if ok {
			got = pl.sev
		}
		if got != tt.sev {
			t.Errorf("oddPlace(%s) = %s (%s), want %s", tt.path, got, pl.reason, tt.sev)
		}
	}
}

// TestPackedUPXLayout checks a UPX-packed executable built without upx
// (see upxLayout), with its magic and banners and without them.
func TestPackedUPXLayout(t *testing.T) {
	prog := program(t)
	got, err := analyze(t, "/usr/local/bin/app", upxLayout(prog, false), 0o755)
	if err != nil {
		t.Fatal(err)
	}
	f := want(t, got, "PKT-ELF-PACKED", finding.High, "T1027.002")
	if f.Attributes["packer"] != "UPX" || !strings.Contains(f.Evidence, "UPX") {
		t.Errorf("attributes %v evidence %q", f.Attributes, f.Evidence)
	}

	got, err = analyze(t, "/usr/local/bin/app", upxLayout(prog, true), 0o755)
	if err != nil {
		t.Fatal(err)
	}
	f = want(t, got, "PKT-ELF-PACKED", finding.High, "T1027.002")
	if f.Attributes["packer"] != "" {
		t.Errorf("stripped UPX named: %v", f.Attributes)
	}
}

// TestPackedRealUPX packs a real program with upx when this machine has it
// (or can install Debian's upx-ucl).
func TestPackedRealUPX(t *testing.T) {
	upx, why := upxTool(t)
	if upx == "" {
		t.Skipf("skipping the real-UPX test: %s; TestPackedUPXLayout covers the UPX file layout", why)
	}
	for name, bin := range map[string][]byte{"static C": cc(t, "hello", helloC, "-static", "-O2"), "ls": program(t)} {
		t.Run(name, func(t *testing.T) {
			got, err := analyze(t, "/usr/local/bin/app", upxPack(t, upx, bin), 0o755)
			if err != nil {
				t.Fatal(err)
			}
			want(t, got, "PKT-ELF-PACKED", finding.High, "T1027.002")
		})
	}
}

func TestMiner(t *testing.T) {
	got, err := analyze(t, "/usr/local/bin/xmr", cc(t, "miner", minerC), 0o755)
	if err != nil {
		t.Fatal(err)
	}
	f := want(t, got, "PKT-ELF-MINER", finding.Critical, "T1496")
	if !strings.Contains(strings.ToLower(f.Evidence), "stratum+tcp://") {
		t.Errorf("evidence %q", f.Evidence)
	}
}

func TestRootkits(t *testing.T) {
	got, err := analyze(t, "/usr/local/lib/libprocesshider.so", cc(t, "hider", hiderC, "-shared", "-fPIC"), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	want(t, got, "PKT-ELF-ROOTKIT", finding.High, "T1574.006")

	got, err = analyze(t, "/lib/x86_64-linux-gnu/libsystemd-shared.so.1", cc(t, "preload", preloadC, "-shared", "-fPIC", "-s"), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	want(t, got, "PKT-ELF-ROOTKIT", finding.High, "T1014")
}

func TestBackdoor(t *testing.T) {
	got, err := analyze(t, "/usr/sbin/kworkerd", cc(t, "backdoor", backdoorC), 0o755)
	if err != nil {
		t.Fatal(err)
	}
	want(t, got, "PKT-ELF-BACKDOOR", finding.Medium, "T1059.004")
}

func TestOddLocationFindings(t *testing.T) {
	hello := cc(t, "hello", helloC)
	got, err := analyze(t, "/tmp/.X11-unix/Xorg", hello, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	f := want(t, got, "PKT-ELF-ODD-LOCATION", finding.High, "T1564.001")
	if len(got) != 1 || f.Evidence != "/tmp/.X11-unix/Xorg" {
		t.Errorf("findings %v evidence %q", keys(got), f.Evidence)
	}
	got, err = analyze(t, "/var/tmp/helper", hello, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if f := want(t, got, "PKT-ELF-ODD-LOCATION", finding.Medium, ""); f.Severity != finding.Medium {
		t.Errorf("plain binary in /var/tmp: %s", f.Severity)
	}
	// Another finding on the same file raises the location to HIGH.
	got, err = analyze(t, "/var/tmp/helper", cc(t, "miner", minerC), 0o755)
	if err != nil {
		t.Fatal(err)
	}
	want(t, got, "PKT-ELF-ODD-LOCATION", finding.High, "")
	// The same binary in a normal place says nothing.
	got, err = analyze(t, "/usr/bin/hello", hello, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 {
		t.Errorf("plain binary: %v", keys(got))
	}
}

func TestStrippedStatic(t *testing.T) {
	got, err := analyze(t, "/usr/local/bin/tool", cc(t, "hello", helloC, "-static", "-s"), 0o755)
	if err != nil {
		t.Fatal(err)
	}
	f := want(t, got, "PKT-ELF-STRIPPED-STATIC", finding.Info, "")
	if f.Severity != finding.Info || f.Attributes["static"] != "true" || f.Attributes["stripped"] != "true" {
		t.Errorf("%s %v", f.Severity, f.Attributes)
	}
	// An ordinary program in an ordinary place says nothing.
	got, err = analyze(t, "/usr/local/bin/tool", program(t), 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 {
		t.Errorf("findings on a plain program: %v", keys(got))
	}
}

func TestNotELF(t *testing.T) {
	for _, b := range [][]byte{[]byte("#!/bin/sh\necho hi\n"), make([]byte, 100), []byte("MZ\x90\x00")} {
		got, err := analyze(t, "/usr/bin/script", b, 0o755)
		if err != nil || len(got) != 0 {
			t.Errorf("%q: %v %v", b[:4], keys(got), err)
		}
	}
}

// TestMalformed feeds files that start like ELF but are broken or hostile:
// no panic, quick, little memory, and either a clean result or an error the
// scan counts as a skipped file.
func TestMalformed(t *testing.T) {
	for name, b := range hostileELFs(t) {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		start := time.Now()
		res, err := elfAnalyzer{}.Analyze(t.Context(), analyzertest.Input("/usr/bin/x", b, 0o755))
		d := time.Since(start)
		runtime.ReadMemStats(&after)
		if d > 2*time.Second {
			t.Errorf("%s: took %s", name, d)
		}
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<20 {
			t.Errorf("%s: allocated %d MiB", name, grew>>20)
		}
		switch {
		case err != nil:
			t.Logf("%s: skipped: %v", name, err)
			if strings.Contains(name, "header") && !errors.Is(err, errMalformed) {
				t.Errorf("%s: error %v is not errMalformed", name, err)
			}
		default:
			var rules []string
			for _, f := range res.Findings {
				rules = append(rules, f.RuleID+"/"+f.Severity.String())
			}
			t.Logf("%s: analysed: %v", name, rules)
		}
	}
}

// TestHugeFile checks that a binary above the scan limit is analysed in
// bounded time and memory, and says how much of it was scanned.
func TestHugeFile(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates 80 MiB")
	}
	b := make([]byte, 80<<20)
	copy(b, upxLayout(program(t), false))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	got, err := analyze(t, "/usr/local/bin/big", b, 0o755)
	d := time.Since(start)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	f := want(t, got, "PKT-ELF-PACKED", finding.High, "")
	if f.Attributes["scanned"] == "" {
		t.Errorf("attributes %v", f.Attributes)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; d > 5*time.Second || grew > 16<<20 {
		t.Errorf("took %s and %d MiB", d, grew>>20)
	}
	t.Logf("80 MiB in %s, %d KiB allocated", d, (after.TotalAlloc-before.TotalAlloc)>>10)
}

func FuzzAnalyze(f *testing.F) {
	seeds := [][]byte{upxLayout([]byte("hello world"), false), elfHeader64(2)}
	for _, b := range hostileELFs(f) {
		if len(b) <= 16<<10 {
			seeds = append(seeds, b)
		}
	}
	analyzertest.Fuzz(f, elfAnalyzer{}, "/usr/bin/x", seeds...)
}

func BenchmarkAnalyze(b *testing.B) {
	prog := program(b)
	for name, body := range map[string][]byte{"program": prog, "upx": upxLayout(prog, false)} {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, err := (elfAnalyzer{}).Analyze(b.Context(), analyzertest.Input("/usr/bin/x", body, 0o755)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

var _ analyzer.Analyzer = elfAnalyzer{}
