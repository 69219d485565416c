package secret

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/picket-cdr/picket/internal/analyzer/analyzertest"
	"github.com/picket-cdr/picket/internal/finding"
)

func fuzzSeeds(t testing.TB) [][]byte {
	seeds := [][]byte{
		nil, []byte("\x00"), []byte("password"), []byte("-----BEGIN RSA PRIVATE KEY-----"),
		[]byte("requirepass changeme\n"), []byte("root:$1$ab$cdefghijklmnopqrstuvwx:19000::::::\n"),
		bytes.Repeat([]byte("ghp_"), 1000), bytes.Repeat([]byte("a=b\n"), 500),
	}
	for _, c := range ruleCases {
		for i, e := range c.pos {
			seeds = append(seeds, []byte(expand(t, e.text, "seed"+string(rune('a'+i)))))
		}
	}
	return seeds
}

// FuzzAnalyze: random content never panics, hangs or leaks a secret into
// evidence, and findings are well formed.
func FuzzAnalyze(f *testing.F) {
	a := MustNew()
	for _, s := range fuzzSeeds(f) {
		f.Add(s, uint8(0))
	}
	paths := []string{"/app/.env", "/etc/redis/redis.conf", "/etc/shadow", "/root/.docker/config.json",
		"/root/.kube/config", "/etc/app/app.yaml", "/app/config.json", "/root/.pgpass", "/usr/local/bin/tool"}
	f.Fuzz(func(t *testing.T, data []byte, pi uint8) {
		p := paths[int(pi)%len(paths)]
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		start := time.Now()
		res, err := a.Analyze(ctx, analyzertest.Input(p, data, 0o644))
		if d := time.Since(start); d > 2*DefaultTimeout+time.Second {
			t.Fatalf("took %s", d)
		}
		if err != nil || res == nil {
			return
		}
		lines := bytes.Count(data, []byte{'\n'}) + 1
		for _, fd := range res.Findings {
			if fd.RuleID == "" || fd.Title == "" || fd.Location.Path != p {
				t.Fatalf("malformed finding %+v", fd)
			}
			if fd.Kind != finding.KindSecret {
				continue
			}
			if fd.Location.Line < 0 || fd.Location.Line > lines {
				t.Fatalf("line %d of %d", fd.Location.Line, lines)
			}
			if !utf8.ValidString(fd.Evidence) || strings.ContainsAny(fd.Evidence, "\n\r\x00") {
				t.Fatalf("evidence not printable: %q", fd.Evidence)
			}
		}
	})
}

// FuzzAnalyzerContract runs the shared analyzer fuzz checks.
func FuzzAnalyzerContract(f *testing.F) {
	analyzertest.Fuzz(f, MustNew(), "/etc/app/settings.conf", fuzzSeeds(f)...)
}

// FuzzGitleaksConfig: hostile configurations give an error or rules that
// build an analyzer, never a panic, and those rules scan safely.
func FuzzGitleaksConfig(f *testing.F) {
	f.Add([]byte(`[[rules]]
id = "x"
regex = '''x_([a-z]{4})'''
keywords = ["x_"]
[[rules.allowlists]]
condition = "AND"
paths = ['''a''']
stopwords = ["b"]
`))
	f.Add([]byte("[extend]\nuseDefault = true\n[allowlist]\nregexes = ['''(''']\n"))
	f.Add([]byte("[[rules]]\nid = \"p\"\npath = '''\\.p12$'''\n"))
	f.Add([]byte("[[rules]]\nregex = '''(?=x)'''\nsecretGroup = 9\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rules, st, err := ParseGitleaksConfig(data, "fuzz.toml")
		if err != nil {
			return
		}
		if st.Loaded != len(rules) || st.Loaded+len(st.Failed)+len(st.Skipped) < st.Rules {
			t.Fatalf("inconsistent stats %+v for %d rules", st, len(rules))
		}
		a, err := New(WithoutBuiltinRules(), WithRules(rules...), WithTimeout(time.Second))
		if err != nil {
			return // e.g. duplicate ids in the config
		}
		_, _ = a.Analyze(context.Background(), analyzertest.Input("/app/a.txt", data, 0o644))
	})
}
