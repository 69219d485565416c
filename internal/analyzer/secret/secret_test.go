package secret

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/picket-cdr/picket/internal/analyzer"
	"github.com/picket-cdr/picket/internal/analyzer/analyzertest"
	"github.com/picket-cdr/picket/internal/finding"
)

func info(p string, size int64, mode fs.FileMode) fs.FileInfo {
	return analyzertest.Info{Path: p, Length: size, FMode: mode}
}

func TestRequired(t *testing.T) {
	a := MustNew()
	for _, c := range []struct {
		path string
		size int64
		mode fs.FileMode
		want bool
	}{
		{"/app/.env", 100, 0o644, true},
		{"/etc/redis/redis.conf", 100, 0o644, true},
		{"/root/.ssh/id_rsa", 1700, 0o600, true},
		{"/usr/local/bin/deploy", 4000, 0o755, true},          // scripts have no extension
		{"/var/log/app.log", 100 << 20, 0o644, true},          // big, text by name: partly scanned
		{"/usr/lib/jvm/lib/modules", 100 << 20, 0o644, false}, // big, not text by name
		{"/app/certs/client.p12", 3000, 0o644, true},          // a path-only rule wants it
		{"/usr/lib/x86_64-linux-gnu/libc.so.6", 2 << 20, 0o755, false},
		{"/app/static/logo.png", 5000, 0o644, false},
		{"/app/lib.jar", 5000, 0o644, false},
		{"/usr/share/doc/bash/README", 5000, 0o644, false},
		{"/usr/share/zoneinfo/UTC", 100, 0o644, false},
		{"/var/lib/dpkg/info/bash.list", 100, 0o644, false},
		{"/app/tests/fixtures/key.pem", 100, 0o644, false}, // test tree
		{"/src/app/main_test.go", 100, 0o644, false},
		{"/app/.env", 0, 0o644, false},                   // empty
		{"/app/.env", 10, fs.ModeSymlink | 0o777, false}, // not regular
		{"/etc/shadow", 500, 0o640, true},
		{"/var/cache/debconf/passwords.dat", 500, 0o600, true},
	} {
		if got := a.Required(c.path, info(c.path, c.size, c.mode)); got != c.want {
			t.Errorf("Required(%s, %d) = %v, want %v", c.path, c.size, got, c.want)
		}
	}
	b := MustNew(WithoutDefaultAllowlist(), WithAllowPaths(`^/opt/vendor/`))
	if !b.Required("/app/tests/fixtures/key.pem", info("", 100, 0o644)) {
		t.Error("WithoutDefaultAllowlist: test trees are still skipped")
	}
	if b.Required("/opt/vendor/x.env", info("", 100, 0o644)) {
		t.Error("WithAllowPaths: allowed path still required")
	}
}

func secretsOf(res *analyzer.Result) []*finding.Finding {
	if res == nil {
		return nil
	}
	var out []*finding.Finding
	for _, f := range res.Findings {
		if f.Kind == finding.KindSecret {
			out = append(out, f)
		}
	}
	return out
}

func incomplete(res *analyzer.Result) *finding.Finding {
	if res == nil {
		return nil
	}
	for _, f := range res.Findings {
		if f.RuleID == IncompleteRuleID {
			return f
		}
	}
	return nil
}

func TestFindingShape(t *testing.T) {
	a := MustNew()
	text := expand(t, "# settings\nname = app\nGITHUB_TOKEN=ghp_{{an:36}}\npassword = hunter2\n", "shape")
	res := analyzertest.Run(t, a, "/srv/app/settings.txt", []byte(text))
	fs := secretsOf(res)
	if len(fs) != 1 {
		t.Fatalf("want 1 finding, got %d: %+v", len(fs), fs)
	}
	f := fs[0]
	if f.RuleID != "github-pat" || f.Location.Path != "/srv/app/settings.txt" || f.Location.Line != 3 ||
		f.Severity != finding.High || f.Kind != finding.KindSecret {
		t.Errorf("finding %+v", f)
	}
	if f.Evidence != "ghp_****" { // the match is the token; its first four characters are its prefix
		t.Errorf("evidence %q, want the match with only the secret's first 4 characters", f.Evidence)
	}
	if f.Attributes["rule"] != "github-pat" || f.Attributes["match"] != f.Evidence || f.Attributes["source"] != "builtin" {
		t.Errorf("attributes %v", f.Attributes)
	}
	if !slices.Contains(f.Tags, "secret") || !slices.Contains(f.Tags, "github") {
		t.Errorf("tags %v", f.Tags)
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"":                                "****",
		"hunter2":                         "****",
		"0123456789abcde":                 "****",
		"0123456789abcdef":                "0123****",
		"ghp_abcdefghijklmnop":            "ghp_****",
		"\x00\x01\x02\x03rest-of-it-long": `\x00\x01\x02\x03****`,
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
	if got := evidence([]byte("a\nb=SECRETSECRETSECRET\tc"), 4, 22); got != `a\nb=SECR****\tc` {
		t.Errorf("evidence = %q", got)
	}
}

// One secret matched by several rules is reported once, by the most severe.
func TestOverlapReportedOnce(t *testing.T) {
	a := MustNew()
	text := expand(t, "AWS_SECRET_ACCESS_KEY={{b64:40}}\n", "overlap")
	fs := secretsOf(analyzertest.Run(t, a, "/app/.env", []byte(text)))
	if len(fs) != 1 || fs[0].RuleID != "aws-secret-access-key" || fs[0].Severity != finding.Critical {
		t.Fatalf("want one aws-secret-access-key finding, got %+v", fs)
	}
}

func TestWeakPasswords(t *testing.T) {
	a := MustNew()
	// "changeme" is a live (weak) password in redis.conf...
	fs := secretsOf(analyzertest.Run(t, a, "/etc/redis/redis.conf", []byte("port 6379\nrequirepass changeme\n")))
	if len(fs) != 1 || fs[0].RuleID != "redis-requirepass" || fs[0].Location.Line != 2 || fs[0].Evidence != "requirepass ****" {
		t.Fatalf("redis.conf: %+v", fs)
	}
	// ... and a placeholder in a generic configuration file.
	if fs := secretsOf(analyzertest.Run(t, a, "/etc/app/app.conf", []byte("password = changeme\nsecret = ${SECRET}\n"))); len(fs) != 0 {
		t.Fatalf("app.conf: %+v", fs)
	}
}

func TestInlineAllowMarker(t *testing.T) {
	a := MustNew()
	text := expand(t, "t1 = ghp_{{an:36}} # gitleaks:allow\nt2 = ghp_{{an:36}} // picket:allow\nt3 = ghp_{{an:36}}\n", "inline")
	fs := secretsOf(analyzertest.Run(t, a, "/app/x.txt", []byte(text)))
	if len(fs) != 1 || fs[0].Location.Line != 3 {
		t.Fatalf("want only line 3, got %+v", fs)
	}
}

func TestBinaryFiles(t *testing.T) {
	a := MustNew()
	key := expand(t, "-----BEGIN OPENSSH PRIVATE KEY-----\n{{pem:6}}\n-----END OPENSSH PRIVATE KEY-----\n", "bin")
	tok := expand(t, "ghp_{{an:36}}", "bin-tok")
	bin := append([]byte("\x7fELF\x02\x01\x01\x00\x00\x00"), bytes.Repeat([]byte{0}, 9000)...)
	bin = append(bin, []byte(tok+"\x00"+key+"\x00")...)
	fs := secretsOf(analyzertest.Run(t, a, "/usr/local/bin/tool", bin))
	if len(fs) != 1 || fs[0].RuleID != "private-key-openssh" {
		t.Fatalf("binary: want only the private key, got %+v", fs)
	}
}

// sparse is a huge Content that costs no memory: a repeated line.
type sparse struct {
	size int64
	line []byte
	off  int64
}

func (s *sparse) ReadAt(p []byte, off int64) (int, error) {
	if off >= s.size {
		return 0, io.EOF
	}
	n := 0
	for n < len(p) && off+int64(n) < s.size {
		p[n] = s.line[(off+int64(n))%int64(len(s.line))]
		n++
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (s *sparse) Read(p []byte) (int, error) {
	n, err := s.ReadAt(p, s.off)
	s.off += int64(n)
	return n, err
}

func (s *sparse) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
		s.off = off
	case io.SeekCurrent:
		s.off += off
	case io.SeekEnd:
		s.off = s.size + off
	}
	return s.off, nil
}

func (s *sparse) Size() int64 { return s.size }

// allocated is the total of bytes allocated so far (never decreases).
func allocated() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.TotalAlloc
}

// A hostile 4 GiB file: bounded memory and time, a counted partial scan.
func TestHugeFile(t *testing.T) {
	a := MustNew()
	line := []byte(expand(t, "log line password=ghp_{{an:36}} and more text\n", "huge"))
	c := &sparse{size: 4 << 30, line: line}
	before := allocated()
	start := time.Now()
	res, err := a.Analyze(context.Background(), &analyzer.Input{Path: "/var/log/huge.log", Info: info("/var/log/huge.log", c.size, 0o644), Content: c})
	if err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	grew := allocated() - before
	inc := incomplete(res)
	if inc == nil || inc.Kind != finding.KindScan || !strings.Contains(inc.Attributes["reason"], "size limit") {
		t.Fatalf("want an incomplete-scan finding for the size limit, got %+v", inc)
	}
	if n := len(secretsOf(res)); n != DefaultMaxFindings {
		t.Errorf("%d findings, want the cap %d", n, DefaultMaxFindings)
	}
	if !strings.Contains(inc.Attributes["reason"], "findings") {
		t.Errorf("reason %q does not mention the findings cap", inc.Attributes["reason"])
	}
	if elapsed > 2*DefaultTimeout+2*time.Second {
		t.Errorf("took %s", elapsed)
	}
	if grew > 32<<20 {
		t.Errorf("allocated %d MiB", grew>>20)
	}
	t.Logf("4 GiB file: %s, %d KiB allocated, %s", elapsed, grew>>10, inc.Description)
}

// Many keyword hits with an expensive regex: the time limit stops the scan
// and says so.
func TestTimeLimit(t *testing.T) {
	a := MustNew(WithTimeout(time.Nanosecond))
	var b bytes.Buffer
	for b.Len() < 8<<20 {
		b.WriteString("# the password, token and secret api_key settings follow\n")
	}
	start := time.Now()
	res, err := a.Analyze(context.Background(), analyzertest.Input("/etc/app/big.conf", b.Bytes(), 0o644))
	if err != nil {
		t.Fatal(err)
	}
	inc := incomplete(res)
	if inc == nil || !strings.Contains(inc.Attributes["reason"], "time limit") {
		t.Fatalf("want a time-limit finding, got %+v", res.Findings[0])
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("stopping took %s", d)
	}
}

func TestCancelledContext(t *testing.T) {
	a := MustNew()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := a.Analyze(ctx, analyzertest.Input("/app/.env", []byte("A=1\n"), 0o644))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestAllowlistedPathsInAnalyze(t *testing.T) {
	text := []byte(expand(t, "t = ghp_{{an:36}}\n", "allow"))
	if res, _ := MustNew().Analyze(context.Background(), analyzertest.Input("/app/test/data.txt", text, 0o644)); len(secretsOf(res)) != 0 {
		t.Error("test tree not allowlisted")
	}
	if res, _ := MustNew(WithoutDefaultAllowlist()).Analyze(context.Background(), analyzertest.Input("/app/test/data.txt", text, 0o644)); len(secretsOf(res)) != 1 {
		t.Error("WithoutDefaultAllowlist: test tree not scanned")
	}
}

func TestOptionsAndVersion(t *testing.T) {
	def := MustNew()
	if def.Version() != BuiltinVersion || def.Name() != Name {
		t.Fatalf("default analyzer %s@%d", def.Name(), def.Version())
	}
	user := &Rule{ID: "acme-token", Title: "ACME token", Severity: finding.Critical, Keywords: []string{"acme_"},
		Regex: regexp.MustCompile(`\b(acme_[a-z0-9]{24})\b`)}
	a := MustNew(WithRules(user))
	b := MustNew(WithRules(user))
	if a.Version() == BuiltinVersion || a.Version() != b.Version() {
		t.Errorf("custom versions %d, %d (default %d): want stable and different", a.Version(), b.Version(), BuiltinVersion)
	}
	if c := MustNew(WithRules(user), WithMaxFindings(5)); c.Version() == a.Version() {
		t.Error("version ignores options")
	}
	text := []byte(expand(t, "k = acme_{{l:24}}\n", "user"))
	fs := secretsOf(analyzertest.Run(t, a, "/app/x.txt", text))
	if len(fs) != 1 || fs[0].RuleID != "acme-token" || fs[0].Severity != finding.Critical || fs[0].Attributes["source"] != "user" {
		t.Fatalf("user rule: %+v", fs)
	}
	if len(a.Rules()) != len(BuiltinRules())+1 {
		t.Errorf("%d rules", len(a.Rules()))
	}
	d := MustNew(WithRules(user), WithDisabledRules("acme-token", "github-pat"))
	if len(d.Rules()) != len(BuiltinRules())-1 {
		t.Errorf("disabled: %d rules", len(d.Rules()))
	}
	// Errors are errors, not panics.
	for name, opts := range map[string][]Option{
		"bad allow path":   {WithAllowPaths("(")},
		"nil rule":         {WithRules(nil)},
		"rule without re":  {WithRules(&Rule{ID: "x"})},
		"bad secret group": {WithRules(&Rule{ID: "x", Regex: regexp.MustCompile("a"), SecretGroup: 2})},
		"missing config":   {WithGitleaksConfig("/nonexistent/gitleaks.toml")},
		"bad max size":     {WithMaxFileSize(0)},
		"empty keyword":    {WithRules(&Rule{ID: "x", Regex: regexp.MustCompile("a"), Keywords: []string{""}})},
		"bad condition":    {WithRules(&Rule{ID: "x", Regex: regexp.MustCompile("a"), Allowlists: []Allowlist{{Condition: "XOR"}}})},
	} {
		if _, err := New(opts...); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	// A user rule reusing a built-in id is renamed, not rejected.
	dup := *user
	dup.ID = "github-pat"
	e := MustNew(WithRules(&dup))
	if !slices.ContainsFunc(e.Rules(), func(r *Rule) bool { return r.ID == "user:github-pat" }) {
		t.Error("duplicate id not renamed")
	}
}

func TestAllowlistConditions(t *testing.T) {
	re := regexp.MustCompile
	base := func(al Allowlist) *Analyzer {
		return MustNew(WithoutBuiltinRules(), WithRules(&Rule{ID: "tok", Keywords: []string{"tok_"},
			Regex: re(`tok_([a-z0-9]{20})`), Allowlists: []Allowlist{al}}))
	}
	text := []byte("x = tok_q8w2e5r7t1y4u6i9o0p3 # note\n")
	for name, c := range map[string]struct {
		al   Allowlist
		kept bool
	}{
		"or path":          {Allowlist{Paths: []*regexp.Regexp{re(`\.txt$`)}}, false},
		"or secret regex":  {Allowlist{Regexes: []*regexp.Regexp{re(`^q8w`)}}, false},
		"match target":     {Allowlist{RegexTarget: "match", Regexes: []*regexp.Regexp{re(`^tok_`)}}, false},
		"line target":      {Allowlist{RegexTarget: "line", Regexes: []*regexp.Regexp{re(`# note`)}}, false},
		"stopword":         {Allowlist{StopWords: []string{"e5r7"}}, false},
		"and both hold":    {Allowlist{Condition: "AND", Paths: []*regexp.Regexp{re(`\.txt$`)}, StopWords: []string{"e5r7"}}, false},
		"and one fails":    {Allowlist{Condition: "AND", Paths: []*regexp.Regexp{re(`\.yaml$`)}, StopWords: []string{"e5r7"}}, true},
		"no match":         {Allowlist{Regexes: []*regexp.Regexp{re(`^zzz`)}}, true},
		"secret target no": {Allowlist{Regexes: []*regexp.Regexp{re(`^tok_`)}}, true},
	} {
		res, err := base(c.al).Analyze(context.Background(), analyzertest.Input("/app/a.txt", text, 0o644))
		if err != nil {
			t.Fatal(err)
		}
		if got := len(secretsOf(res)) == 1; got != c.kept {
			t.Errorf("%s: kept = %v, want %v", name, got, c.kept)
		}
	}
}

func TestPlaceholders(t *testing.T) {
	for s, want := range map[string]bool{
		"${DB_PASSWORD}": true, "{{ .Values.pw }}": true, "<password>": true, "$PASSWORD": true,
		"%PASSWORD%": true, "xxxxxxxxxxxx": true, "********": true, "changeme": true, "your_api_key_here": true,
		"AKIAIOSFODNN7EXAMPLE": true, "0123456789": true, "aaaaaaaa": true, "": true,
		"Zr4!kq9Lw2": false, "s3cr3tP4ss": false,
	} {
		if got := isPlaceholder([]byte(s), false); got != want {
			t.Errorf("isPlaceholder(%q) = %v, want %v", s, got, want)
		}
	}
	if isPlaceholder([]byte("changeme"), true) || isPlaceholder([]byte("password"), true) {
		t.Error("weak passwords are placeholders even where they are live")
	}
	// A long random value may contain any short word.
	if isPlaceholder([]byte("q8W2e5R7t1Y4u6I9o0P3a5S7d9F1g3H5j7K9l2Z4x6C8v0B2n4M6todoQ1w3E5r7T9y2U4i6O8p0"), false) {
		t.Error("long random value taken for a placeholder")
	}
}

func TestShannon(t *testing.T) {
	if e := shannon([]byte("aaaa")); e != 0 {
		t.Errorf("entropy(aaaa) = %v", e)
	}
	if e := shannon([]byte("abcd")); e != 2 {
		t.Errorf("entropy(abcd) = %v", e)
	}
}

// The keyword automaton (petar-dambovaliev/aho-corasick) must report every
// occurrence of every keyword, overlapping ones included, case-insensitively:
// checked against a naive search on random inputs.
func TestKeywordAutomaton(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alpha := "abAB_-:."
	word := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = alpha[rng.IntN(len(alpha))]
		}
		return string(b)
	}
	for round := range 300 {
		seen := map[string]bool{}
		var kws []string
		for len(kws) < 1+rng.IntN(8) {
			k := strings.ToLower(word(1 + rng.IntN(4)))
			if !seen[k] {
				seen[k] = true
				kws = append(kws, k)
			}
		}
		hay := []byte(word(rng.IntN(200)))
		ac := buildAC(kws)
		type hit struct{ kw, end int }
		var got, want []hit
		ac.Find(hay, func(kw, start int) bool {
			got = append(got, hit{kw, start + len(kws[kw])})
			return true
		})
		low := bytes.ToLower(hay)
		for i, k := range kws {
			for j := 0; j+len(k) <= len(low); j++ {
				if string(low[j:j+len(k)]) == k {
					want = append(want, hit{i, j + len(k)})
				}
			}
		}
		cmp := func(a, b hit) int {
			if a.end != b.end {
				return a.end - b.end
			}
			return a.kw - b.kw
		}
		slices.SortFunc(got, cmp)
		slices.SortFunc(want, cmp)
		if !slices.Equal(got, want) {
			t.Fatalf("round %d: keywords %q in %q: got %v, want %v", round, kws, hay, got, want)
		}
	}
}

// Keywords decide which rules run: a rule whose keyword is absent never
// runs its regex, one whose keyword is present (in any case) does.
func TestKeywordPrefilter(t *testing.T) {
	ran := 0
	r := &Rule{ID: "count", Keywords: []string{"magic"}, Regex: regexp.MustCompile(`magic=(\w+)`),
		Validate: func(_, _ []byte) bool { ran++; return true }}
	a := MustNew(WithoutBuiltinRules(), WithRules(r))
	for _, c := range []struct {
		text string
		want int
	}{
		{"nothing here\n", 0},
		{"x = 1\nMAGIC=Zq8vN3kLp0\n", 0}, // keyword found (case-insensitive); the regex is case-sensitive
		{"x = 1\nmagic=Zq8vN3kLp0\n", 1},
	} {
		ran = 0
		if _, err := a.Analyze(context.Background(), analyzertest.Input("/a.txt", []byte(c.text), 0o644)); err != nil {
			t.Fatal(err)
		}
		if ran != c.want {
			t.Errorf("%q: validated %d matches, want %d", c.text, ran, c.want)
		}
	}
}

// TestRegisteredDefaultVersion checks that the lazily built registered
// analyzer reports the version the default configuration has.
func TestRegisteredDefaultVersion(t *testing.T) {
	if v := MustNew().Version(); v != BuiltinVersion || (&lazyDefault{}).Version() != v {
		t.Fatalf("default analyzer version %d, registered %d, BuiltinVersion %d", v, (&lazyDefault{}).Version(), BuiltinVersion)
	}
}

// Binary files are searched for the Binary rules' literal prefixes with
// bytes.Index instead of the keyword automaton; both find the same keys,
// for every Binary rule's positive examples embedded in a binary, and the
// built-in rules take the literal path.
func TestBinaryLiteralPath(t *testing.T) {
	fast := MustNew()
	if fast.eng.binLits == nil {
		t.Fatal("the built-in Binary rules have no literal prefixes: binary files go through the automaton")
	}
	slow := MustNew()
	slow.eng.binLits = nil
	compared := 0
	for _, r := range BuiltinRules() {
		if !r.Binary {
			continue
		}
		for i, e := range ruleCases[r.ID].pos {
			text := expand(t, e.text, fmt.Sprintf("%s/pos/%d", r.ID, i))
			bin := append([]byte("\x7fELF\x02\x01\x01\x00"), bytes.Repeat([]byte{0, 0xff}, 5000)...)
			bin = append(append(append(bin, text...), 0), text...)
			got := secretsOf(analyzertest.Run(t, fast, "/usr/local/bin/tool", bin))
			want := secretsOf(analyzertest.Run(t, slow, "/usr/local/bin/tool", bin))
			if len(want) == 0 {
				continue // a path-specific example: not found in a binary either way
			}
			compared++
			if len(got) != len(want) {
				t.Fatalf("%s example %d: literal path found %d secrets, automaton %d", r.ID, i, len(got), len(want))
			}
			for k := range got {
				if got[k].RuleID != want[k].RuleID || got[k].Location != want[k].Location {
					t.Errorf("%s example %d: literal path %s at %+v, automaton %s at %+v", r.ID, i, got[k].RuleID, got[k].Location, want[k].RuleID, want[k].Location)
				}
			}
		}
	}
	if compared < 9 {
		t.Fatalf("only %d Binary rule examples were found in a binary", compared)
	}
	// A Binary rule without a literal prefix sends binary files back to the
	// automaton.
	ci, err := New(WithRules(&Rule{ID: "ci-key", Keywords: []string{"begin"}, Binary: true, MultiLine: true, SecretGroup: 1,
		Regex: regexp.MustCompile(`(?i)-----BEGIN KEY-----([a-z0-9]{16,})-----END KEY-----`)}))
	if err != nil {
		t.Fatal(err)
	}
	if ci.eng.binLits != nil {
		t.Fatal("a case-insensitive Binary rule got a literal prefix")
	}
	bin := append(bytes.Repeat([]byte{0}, 100), "-----begin key-----q7zvk2rwmt9xplh4ns8c-----end key-----"...)
	if fs := secretsOf(analyzertest.Run(t, ci, "/usr/local/bin/tool", bin)); len(fs) != 1 {
		t.Fatalf("case-insensitive Binary rule: got %+v", fs)
	}
}
