package hashes_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/picket-cdr/picket/internal/analyzer"
	"github.com/picket-cdr/picket/internal/analyzer/analyzertest"
	"github.com/picket-cdr/picket/internal/analyzer/hashes"
	"github.com/picket-cdr/picket/internal/analyzer/yara/malwaretest"
	"github.com/picket-cdr/picket/internal/finding"
)

// eicar is the EICAR test string, assembled so that no source file of
// Picket starts with it.
var eicar = strings.Join([]string{`X5O!P%@AP[4\PZX54(P^)7CC)7}$`, `EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*`}, "")

func requireFuzzy(t testing.TB) {
	t.Helper()
	if err := hashes.FuzzyUnavailable(); err != nil {
		t.Skipf("skipping: %v", err)
	}
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func run(t *testing.T, a analyzer.Analyzer, p string, content []byte) []*finding.Finding {
	t.Helper()
	return analyzertest.Run(t, a, p, content).Findings
}

func TestParseBlocklist(t *testing.T) {
	h1, h2, h3 := sha([]byte("a")), sha([]byte("b")), sha([]byte("c"))
	in := "\ufeff# comment\n\n" +
		h1 + "\n" +
		strings.ToUpper(h2) + "  some/file.bin\n" + // sha256sum text mode
		"sha256:" + h3 + " *bin mode\n" + // sha256sum binary mode, prefixed
		h1 + ",duplicate;ignored\n" +
		"   " + sha([]byte("d")) + "\t\"Quoted name\"  \n"
	b, err := hashes.ParseBlocklist(strings.NewReader(in), "test.txt")
	if err != nil {
		t.Fatal(err)
	}
	if b.Len() != 4 {
		t.Fatalf("%d entries", b.Len())
	}
	for data, want := range map[string]string{"a": "", "b": "some/file.bin", "c": "bin mode", "d": "Quoted name"} {
		e, ok := b.Lookup(sha256.Sum256([]byte(data)))
		if !ok || e.Name != want || e.Source != "test.txt" {
			t.Errorf("%s: %+v %v", data, e, ok)
		}
	}
	if e, _ := b.Lookup(sha256.Sum256([]byte("b"))); e.SHA256 != h2 || e.Line != 4 {
		t.Errorf("entry %+v", e)
	}

	for _, bad := range []string{
		"abc\n",
		h1[:63] + "\n",
		h1[:63] + "g\n",
		"md5:" + h1 + "\n",
		h1 + "\n" + strings.Repeat("a", 70<<10) + "\n",
	} {
		_, err := hashes.ParseBlocklist(strings.NewReader(bad), "bad.txt")
		if err == nil || !strings.Contains(err.Error(), "bad.txt:") {
			t.Errorf("ParseBlocklist(%.40q) = %v", bad, err)
		}
	}
	if _, err := hashes.ParseBlocklist(strings.NewReader("x\n"+h1), "l"); err == nil || !strings.Contains(err.Error(), "l:1") {
		t.Errorf("error without line: %v", err)
	}
}

// ClamAV hash signatures ("<sha256>:<size>:<name>") give sizes: files of
// other sizes are not even read, while one entry without a size keeps
// every size in play.
func TestSizedBlocklist(t *testing.T) {
	a := sha([]byte("a"))
	b, err := hashes.ParseBlocklist(strings.NewReader(a+":1:Letter A, the bad one\nSHA256:"+sha([]byte("bb"))+":*:any size\n"), "clam.hsb")
	if err != nil {
		t.Fatal(err)
	}
	if e, ok := b.Lookup(sha256.Sum256([]byte("a"))); !ok || e.Size != 1 || e.Name != "Letter A, the bad one" {
		t.Fatalf("sized entry %+v %v", e, ok)
	}
	if e, ok := b.Lookup(sha256.Sum256([]byte("bb"))); !ok || e.Size != -1 || e.Name != "any size" {
		t.Fatalf("unsized entry %+v %v", e, ok)
	}
	for _, bad := range []string{a + ":x:name\n", a + ":-3:name\n", a + ":\n"} {
		if _, err := hashes.ParseBlocklist(strings.NewReader(bad), "bad.hsb"); err == nil || !strings.Contains(err.Error(), "bad.hsb:1") {
			t.Errorf("ParseBlocklist(%q) = %v", bad, err)
		}
	}

	dir := t.TempDir()
	sized := filepath.Join(dir, "sized.hsb")
	writeList(t, sized, sha([]byte("#!/bin/sh\nbad\n"))+":14:bad script\n")
	an, err := hashes.New(hashes.Options{BlocklistFiles: []string{sized}, NoDefaultLists: true})
	if err != nil {
		t.Fatal(err)
	}
	info := func(n int64) analyzertest.Info {
		return analyzertest.Info{Path: "/usr/local/bin/x", Length: n, FMode: 0o755}
	}
	if !an.Required("/usr/local/bin/x", info(14)) || an.Required("/usr/local/bin/x", info(15)) {
		t.Fatal("a sized list must want files of its sizes only")
	}
	fs := analyzertest.Run(t, an, "/usr/local/bin/x", []byte("#!/bin/sh\nbad\n")).Findings
	if len(fs) != 1 || fs[0].RuleID != hashes.RuleBlocklist {
		t.Fatalf("sized entry not found: %+v", fs)
	}
	unsized := filepath.Join(dir, "unsized.txt")
	writeList(t, unsized, sha([]byte("zzz"))+"\n")
	an, err = hashes.New(hashes.Options{BlocklistFiles: []string{sized, unsized}, NoDefaultLists: true})
	if err != nil {
		t.Fatal(err)
	}
	if !an.Required("/usr/local/bin/x", info(15)) {
		t.Fatal("an entry without a size must keep every size")
	}
}

func TestParseFuzzyList(t *testing.T) {
	in := "ssdeep,1.1--blocksize:hash:hash,filename\n" +
		`96:S4N8fgOcqVWtBr2NPGRzqM8ss2FOnE:S4eoOcy0Br2NPa5FOnE,"/quarantine/x.elf"` + "\n" +
		"# comment\n" +
		"3:a+JraNvsgzsVqSwHq9:tJuOgzsko named sample\n" +
		"12288:abc:def\n"
	l, err := hashes.ParseFuzzyList(strings.NewReader(in), "f.txt")
	if err != nil {
		t.Fatal(err)
	}
	if l.Len() != 3 {
		t.Fatalf("%d entries", l.Len())
	}
	for _, bad := range []string{
		"96:abc\n",                               // one signature
		"0:abc:def\n",                            // block size 0
		"100:abc:def\n",                          // not 3*2^n
		"96:ab!c:def\n",                          // not base64
		"96:" + strings.Repeat("a", 65) + ":b\n", // too long
		"x:abc:def\n",
	} {
		if _, err := hashes.ParseFuzzyList(strings.NewReader(bad), "bad"); err == nil || !strings.Contains(err.Error(), "bad:1") {
			t.Errorf("ParseFuzzyList(%q) = %v", bad, err)
		}
	}
}

// randomFile is deterministic pseudo-random content.
func randomFile(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func TestFuzzyHash(t *testing.T) {
	requireFuzzy(t)
	data := randomFile(1, 200<<10)
	h1, err := hashes.FuzzyHash(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	h2, err := hashes.FuzzyHash(bytes.NewReader(data), -1)
	if err != nil || h1 != h2 {
		t.Fatalf("hash depends on the announced size: %s %s %v", h1, h2, err)
	}
	if _, err := hashes.ParseFuzzyHash(h1); err != nil {
		t.Fatal(err)
	}
	// The same as Debian's ssdeep tool, when it is installed.
	if _, err := exec.LookPath("ssdeep"); err == nil {
		p := filepath.Join(t.TempDir(), "f")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("ssdeep", "-s", "-b", p).Output()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(out), h1+",") {
			t.Errorf("ssdeep says %s, we say %s", out, h1)
		}
	}
	if s, err := hashes.FuzzyCompare(h1, h1); err != nil || s != 100 {
		t.Errorf("self-similarity %d %v", s, err)
	}
	if _, err := hashes.FuzzyCompare(h1, "garbage"); err == nil {
		t.Error("garbage compared")
	}
}

func TestBlocklistDefaults(t *testing.T) {
	a, err := hashes.New(hashes.Options{})
	if err != nil {
		t.Fatal(err)
	}
	fs := run(t, a, "/tmp/eicar.com", []byte(eicar))
	if len(fs) != 1 {
		t.Fatalf("findings %+v", fs)
	}
	f := fs[0]
	if f.RuleID != hashes.RuleBlocklist || f.Kind != finding.KindMalware || f.Severity != finding.High ||
		f.Evidence != "sha256:275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f" ||
		!strings.Contains(f.Title, "EICAR") || f.Location.Path != "/tmp/eicar.com" || f.Attributes["list"] != "embedded:blocklist.txt" {
		t.Errorf("finding %+v", f)
	}
	// One byte more: no listed size, so not even read.
	if a.Required("/tmp/eicar.com", analyzertest.Info{Path: "/tmp/eicar.com", Length: int64(len(eicar)) + 1, FMode: 0o644}) {
		t.Error("a file of no listed size is wanted")
	}
	// The same size, other bytes: hashed, not listed.
	other := []byte(strings.Repeat("x", len(eicar)))
	if fs := run(t, a, "/tmp/eicar.com", other); len(fs) != 0 {
		t.Errorf("different file matched: %+v", fs)
	}
	if n, _ := a.Counts(); n != 3 {
		t.Errorf("%d default hashes", n)
	}
}

func TestUserLists(t *testing.T) {
	dir := t.TempDir()
	bad := []byte("#!/bin/sh\necho pwned\n")
	list := filepath.Join(dir, "bad.txt")
	if err := os.WriteFile(list, []byte(sha(bad)+"  dropper.sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	a, err := hashes.New(hashes.Options{BlocklistFiles: []string{list}, NoDefaultLists: true})
	if err != nil {
		t.Fatal(err)
	}
	if fs := run(t, a, "/usr/local/bin/x.sh", bad); len(fs) != 1 || fs[0].Attributes["name"] != "dropper.sh" || fs[0].Attributes["list"] != list {
		t.Fatalf("findings %+v", fs)
	}
	if fs := run(t, a, "/tmp/eicar.com", []byte(eicar)); len(fs) != 0 {
		t.Errorf("defaults loaded: %+v", fs)
	}
	d, _ := hashes.New(hashes.Options{})
	if d.Version() == a.Version() {
		t.Error("version does not follow the lists")
	}
	for _, opts := range []hashes.Options{
		{BlocklistFiles: []string{filepath.Join(dir, "missing")}},
		{Threshold: 101},
		{Threshold: -1},
	} {
		if _, err := hashes.New(opts); err == nil {
			t.Errorf("New(%+v) succeeded", opts)
		}
	}
	if err := os.WriteFile(list, []byte("not a hash\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := hashes.New(hashes.Options{BlocklistFiles: []string{list}}); err == nil || !strings.Contains(err.Error(), list+":1") {
		t.Errorf("broken list: %v", err)
	}
}

func TestFuzzy(t *testing.T) {
	requireFuzzy(t)
	known := randomFile(7, 96<<10)
	kh, err := hashes.FuzzyHash(bytes.NewReader(known), int64(len(known)))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	list := filepath.Join(dir, "bad.ssdeep")
	content := "ssdeep,1.1--blocksize:hash:hash,filename\n" + kh + `,"/quarantine/miner"` + "\n"
	// Unrelated entries of every nearby block size.
	for i := range 50 {
		r := randomFile(uint64(100+i), 20<<10+i*(4<<10))
		h, _ := hashes.FuzzyHash(bytes.NewReader(r), int64(len(r)))
		content += fmt.Sprintf("%s,\"/quarantine/other%d\"\n", h, i)
	}
	if err := os.WriteFile(list, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	a, err := hashes.New(hashes.Options{FuzzyFiles: []string{list}})
	if err != nil {
		t.Fatal(err)
	}
	if _, n := a.Counts(); n != 51 {
		t.Fatalf("%d fuzzy entries", n)
	}

	// A variant: a few bytes patched, some appended.
	variant := append(bytes.Clone(known), []byte("patched by the attacker")...)
	copy(variant[1000:], "CONFIG: pool=evil.example:3333")
	fs := run(t, a, "/usr/local/bin/kworker", variant)
	if len(fs) != 1 || fs[0].RuleID != hashes.RuleFuzzy {
		t.Fatalf("variant: %+v", fs)
	}
	f := fs[0]
	score, err := strconv.Atoi(f.Attributes["similarity"])
	if err != nil || score < 80 || score > 100 || f.Attributes["name"] != "/quarantine/miner" || f.Attributes["matched"] != kh ||
		!strings.Contains(f.Evidence, kh) || f.Attributes["sha256"] != sha(variant) {
		t.Errorf("finding %+v", f)
	}
	t.Logf("variant similarity %d%%: %s", score, f.Title)

	if fs := run(t, a, "/usr/local/bin/other", randomFile(999, 96<<10)); len(fs) != 0 {
		t.Errorf("unrelated file: %+v", fs)
	}
	// Small files are not fuzzy-hashed, and with no blocklist entry of
	// their size not even read.
	if a.Required("/usr/local/bin/small", analyzertest.Info{Path: "/usr/local/bin/small", Length: hashes.MinFuzzySize - 1, FMode: 0o755}) {
		t.Error("a small file of no listed size is wanted")
	}
	strict, err := hashes.New(hashes.Options{FuzzyFiles: []string{list}, Threshold: 100})
	if err != nil {
		t.Fatal(err)
	}
	if fs := run(t, strict, "/usr/local/bin/kworker", variant); len(fs) != 0 {
		t.Errorf("threshold 100: %+v", fs)
	}
	if fs := run(t, strict, "/usr/local/bin/kworker", known); len(fs) != 1 || fs[0].Severity != finding.High {
		t.Errorf("identical file: %+v", fs)
	}
}

func TestWithoutLibfuzzy(t *testing.T) {
	if hashes.FuzzyAvailable {
		if hashes.FuzzyUnavailable() != nil {
			t.Fatal("available but FuzzyUnavailable() != nil")
		}
		return
	}
	if err := hashes.FuzzyUnavailable(); err == nil || !strings.Contains(err.Error(), "ssdeep fuzzy hashing unavailable") {
		t.Fatalf("FuzzyUnavailable() = %v", err)
	}
	list := filepath.Join(t.TempDir(), "l")
	if err := os.WriteFile(list, []byte("3:abc:def\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := hashes.New(hashes.Options{FuzzyFiles: []string{list}}); err == nil {
		t.Fatal("fuzzy list accepted without libfuzzy")
	}
	// SHA-256 still works.
	a, err := hashes.New(hashes.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if fs := run(t, a, "/tmp/eicar.com", []byte(eicar)); len(fs) != 1 {
		t.Fatalf("findings %+v", fs)
	}
}

func TestRegistered(t *testing.T) {
	found := false
	for _, a := range analyzer.All() {
		found = found || a.Name() == hashes.Name
	}
	if !found {
		t.Fatal("hashes analyzer not registered")
	}
	if fs := run(t, hashes.Default(), "/srv/eicar.com", []byte(eicar)); len(fs) != 1 {
		t.Fatalf("registered analyzer: %+v", fs)
	}
	v := hashes.Default().Version()
	list := filepath.Join(t.TempDir(), "l")
	if err := os.WriteFile(list, []byte(sha([]byte("x"))+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := hashes.Configure(hashes.Options{BlocklistFiles: []string{list}}); err != nil {
		t.Fatal(err)
	}
	defer hashes.Configure(hashes.Options{})
	if hashes.Default().Version() == v {
		t.Error("Configure kept the version")
	}
	if n, _ := hashes.Default().Counts(); n != 4 {
		t.Errorf("%d hashes after Configure", n)
	}
}

// EICAR planted in a layer of a real Alpine image is found by digest at
// its path and layer; clean images give nothing.
func TestImages(t *testing.T) {
	a, err := hashes.New(hashes.Options{})
	if err != nil {
		t.Fatal(err)
	}
	archive := malwaretest.DockerSave(t,
		malwaretest.AlpineLayer(t),
		malwaretest.Layer(t, malwaretest.File{Name: "usr/local/bin/eicar.com", Body: eicar, Mode: 0o755}),
		malwaretest.Layer(t, malwaretest.File{Name: "etc/motd", Body: "hi\n"}),
	)
	fs := malwaretest.Findings(malwaretest.Scan(t, "docker-archive:"+archive, a))
	if len(fs) != 1 || fs[0].RuleID != hashes.RuleBlocklist || fs[0].Location.Path != "/usr/local/bin/eicar.com" ||
		fs[0].Location.LayerIndex == nil || *fs[0].Location.LayerIndex != 1 {
		t.Fatalf("findings %+v", fs)
	}
	for name, ref := range malwaretest.CleanImages(t) {
		if fs := malwaretest.Findings(malwaretest.Scan(t, ref, a)); len(fs) > 0 {
			t.Errorf("%s: %+v", name, fs)
		}
	}
}

func FuzzParseBlocklist(f *testing.F) {
	f.Add([]byte(sha([]byte("a")) + " name\n# c\n"))
	f.Add([]byte("sha256:" + sha([]byte("b")) + " *x\r\n"))
	f.Add([]byte("\ufeff\n\n,;\t"))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := hashes.ParseBlocklist(bytes.NewReader(data), "fuzz")
		if err != nil {
			return
		}
		if b.Len() > bytes.Count(data, []byte("\n"))+1 {
			t.Fatalf("%d entries from %d lines", b.Len(), bytes.Count(data, []byte("\n"))+1)
		}
	})
}

func FuzzParseFuzzyList(f *testing.F) {
	f.Add([]byte("ssdeep,1.1--blocksize:hash:hash,filename\n96:abc:def,\"x\"\n"))
	f.Add([]byte("3:a+JraNvsgzsVqSwHq9:tJuOgzsko name\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := hashes.ParseFuzzyList(bytes.NewReader(data), "fuzz")
		if err != nil || !hashes.FuzzyAvailable || l.Len() == 0 {
			return
		}
		if _, _, err := l.Best("96:S4N8fgOcqVWtBr2NPGRzqM8ss2FOnE:S4eoOcy0Br2NPa5FOnE"); err != nil {
			t.Fatal(err)
		}
	})
}

func FuzzAnalyze(f *testing.F) {
	opts := hashes.Options{}
	if hashes.FuzzyAvailable {
		list := filepath.Join(f.TempDir(), "l")
		r := randomFile(3, 8<<10)
		h, err := hashes.FuzzyHash(bytes.NewReader(r), int64(len(r)))
		if err != nil {
			f.Fatal(err)
		}
		if err := os.WriteFile(list, []byte(h+"\n"), 0o644); err != nil {
			f.Fatal(err)
		}
		opts.FuzzyFiles = []string{list}
	}
	a, err := hashes.New(opts)
	if err != nil {
		f.Fatal(err)
	}
	analyzertest.Fuzz(f, a, "/tmp/x", []byte(eicar), randomFile(3, 8<<10), nil)
}

func BenchmarkAnalyze(b *testing.B) {
	opts := hashes.Options{}
	if hashes.FuzzyAvailable {
		var list strings.Builder
		for i := range 1000 {
			r := randomFile(uint64(i), 4<<10+i*256)
			h, _ := hashes.FuzzyHash(bytes.NewReader(r), int64(len(r)))
			list.WriteString(h + "\n")
		}
		p := filepath.Join(b.TempDir(), "l")
		if err := os.WriteFile(p, []byte(list.String()), 0o644); err != nil {
			b.Fatal(err)
		}
		opts.FuzzyFiles = []string{p}
	}
	a, err := hashes.New(opts)
	if err != nil {
		b.Fatal(err)
	}
	data := randomFile(42, 8<<20)
	in := analyzertest.Input("/usr/bin/x", data, 0o755)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := a.Analyze(context.Background(), in); err != nil {
			b.Fatal(err)
		}
	}
}

func writeList(t *testing.T, p, s string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}
