package libyara_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/picket-cdr/picket/internal/analyzer/yara/libyara"
)

func requireLib(t testing.TB) {
	t.Helper()
	if !libyara.Available {
		t.Skipf("skipping: %v", libyara.ErrUnavailable)
	}
}

const testRules = `
rule Hello : greeting test {
	meta:
		description = "says hello"
		score = 75
		draft = true
	strings:
		$h = "hello"
		$w = "world"
	condition:
		$h and $w
}

private rule Helper { strings: $x = "private" condition: $x }

rule UsesPrivate { condition: Helper }

rule ByName {
	condition:
		filename == "evil.php" and filepath == "/var/www" and extension == ".php"
		and filetype == "PHP" and owner == "root"
}
`

var externals = map[string]string{"filename": "", "filepath": "", "extension": "", "filetype": "", "owner": ""}

func compile(t testing.TB, src string) *libyara.Rules {
	t.Helper()
	r, _, err := libyara.Compile([]libyara.Source{{Name: "test.yar", Namespace: "t", Text: []byte(src)}}, externals)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r
}

func names(res *libyara.Result) []string {
	var out []string
	for _, m := range res.Matches {
		out = append(out, m.Rule.Identifier)
	}
	return out
}

func TestCompileAndScan(t *testing.T) {
	requireLib(t)
	r := compile(t, testRules)
	if n := len(r.Rules()); n != 4 {
		t.Fatalf("%d rules, want 4", n)
	}
	s, err := r.NewScanner()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.SetTimeout(5 * time.Second)

	res, err := s.ScanMem([]byte("xx hello, world; private"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(names(res), ","); got != "Hello,UsesPrivate" {
		t.Fatalf("matches %q", got)
	}
	m := res.Matches[0]
	if m.Rule.Namespace != "t" || strings.Join(m.Rule.Tags, ",") != "greeting,test" {
		t.Errorf("rule info %+v", m.Rule)
	}
	if m.Rule.MetaString("description") != "says hello" || m.Rule.MetaString("score") != "75" || m.Rule.MetaString("draft") != "true" {
		t.Errorf("meta %+v", m.Rule.Meta)
	}
	if len(m.Strings) != 2 || m.Strings[0].ID != "$h" || m.Strings[0].Offset != 3 || string(m.Strings[0].Data) != "hello" ||
		m.Strings[1].ID != "$w" || m.Strings[1].Offset != 10 {
		t.Errorf("strings %+v", m.Strings)
	}

	// Externals are set per scan.
	for k, v := range map[string]string{"filename": "evil.php", "filepath": "/var/www", "extension": ".php", "filetype": "PHP", "owner": "root"} {
		if err := s.DefineString(k, v); err != nil {
			t.Fatal(err)
		}
	}
	res, err = s.ScanMem(nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(names(res), ","); got != "ByName" {
		t.Fatalf("matches with externals %q", got)
	}
	if err := s.DefineString("nosuch", "x"); err == nil {
		t.Error("undeclared external accepted")
	}
}

func TestScanFd(t *testing.T) {
	requireLib(t)
	r := compile(t, testRules)
	s, err := r.NewScanner()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, append(bytes.Repeat([]byte{0}, 1<<20), "hello world"...), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := s.ScanFd(f.Fd())
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(names(res), ","); got != "Hello" || res.Matches[0].Strings[0].Offset != 1<<20 {
		t.Fatalf("matches %q %+v", got, res.Matches)
	}
}

func TestCompileErrors(t *testing.T) {
	requireLib(t)
	_, _, err := libyara.Compile([]libyara.Source{
		{Name: "good.yar", Text: []byte(`rule A { condition: true }`)},
		{Name: "bad.yar", Text: []byte("rule B {\n condition: nosuchvar }")},
	}, nil)
	var ce *libyara.CompileError
	if !errors.As(err, &ce) || ce.Source != "bad.yar" || !strings.Contains(err.Error(), "bad.yar:2") ||
		!strings.Contains(err.Error(), "nosuchvar") {
		t.Fatalf("err = %v", err)
	}
	// Rules with the same name in different namespaces are fine; in the
	// same namespace they are not.
	if _, _, err := libyara.Compile([]libyara.Source{
		{Name: "a", Namespace: "a", Text: []byte(`rule A { condition: true }`)},
		{Name: "b", Namespace: "b", Text: []byte(`rule A { condition: true }`)},
	}, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := libyara.Compile([]libyara.Source{
		{Name: "a", Namespace: "x", Text: []byte(`rule A { condition: true }`)},
		{Name: "b", Namespace: "x", Text: []byte(`rule A { condition: true }`)},
	}, nil); err == nil {
		t.Fatal("duplicate rule accepted")
	}
}

func TestCompileFileWithInclude(t *testing.T) {
	requireLib(t)
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "sub", "inc.yar"), []byte(`rule Inc { strings: $a = "included" condition: $a }`), 0o644); err != nil {
		t.Fatal(err)
	}
	main := filepath.Join(dir, "main.yar")
	if err := os.WriteFile(main, []byte(`include "sub/inc.yar"`+"\nrule Main { condition: Inc }"), 0o644); err != nil {
		t.Fatal(err)
	}
	r, _, err := libyara.Compile([]libyara.Source{{Name: main, Path: main}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	s, err := r.NewScanner()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	res, err := s.ScanMem([]byte("this is included"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(names(res), ","); got != "Inc,Main" {
		t.Fatalf("matches %q", got)
	}
	if _, _, err := libyara.Compile([]libyara.Source{{Name: "missing", Path: filepath.Join(dir, "missing.yar")}}, nil); err == nil {
		t.Fatal("missing file accepted")
	}
}

// A rule whose condition is quadratic in the file size must be stopped by
// the timeout.
func TestTimeout(t *testing.T) {
	requireLib(t)
	if testing.Short() {
		t.Skip("takes a second")
	}
	r := compile(t, `rule Slow { condition: for all i in (1..filesize) : ( for all j in (1..filesize) : ( uint8(i) != 0x1ff ) ) }`)
	s, err := r.NewScanner()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.SetTimeout(time.Second)
	start := time.Now()
	_, err = s.ScanMem(make([]byte, 1<<20))
	if !errors.Is(err, libyara.ErrTimeout) {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("timeout after %v", d)
	}
}

// Many matching rules are capped, not accumulated without bound.
func TestMatchCap(t *testing.T) {
	requireLib(t)
	var src strings.Builder
	for i := range libyara.MaxRuleMatches + 10 {
		src.WriteString("rule R" + strings.Repeat("x", i%3) + string(rune('a'+i%26)) + "_" + itoa(i) + " { condition: true }\n")
	}
	r := compile(t, src.String())
	s, err := r.NewScanner()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	res, err := s.ScanMem([]byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Matches) != libyara.MaxRuleMatches || res.Truncated != 10 {
		t.Fatalf("%d matches, %d truncated", len(res.Matches), res.Truncated)
	}
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}

// Rules are shared by scanners in many goroutines.
func TestConcurrentScanners(t *testing.T) {
	requireLib(t)
	r := compile(t, testRules)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			s, err := r.NewScanner()
			if err != nil {
				t.Error(err)
				return
			}
			defer s.Close()
			for range 200 {
				res, err := s.ScanMem([]byte("hello world"))
				if err != nil || len(res.Matches) != 1 {
					t.Errorf("res %v err %v", res, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func BenchmarkScanMem(b *testing.B) {
	requireLib(b)
	r := compile(b, testRules)
	s, err := r.NewScanner()
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	data := bytes.Repeat([]byte("lorem ipsum dolor sit amet "), 1<<15)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := s.ScanMem(data); err != nil {
			b.Fatal(err)
		}
	}
}
