package secret

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/picket-cdr/picket/internal/analyzer/analyzertest"
	"github.com/picket-cdr/picket/internal/finding"
)

// sharedGitleaks is gitleaks' own default configuration (222 rules), kept in
// ../shared for interoperability tests.
func sharedGitleaks(t testing.TB) string {
	t.Helper()
	p := filepath.Join("..", "..", "..", "..", "shared", "rules", "gitleaks", "gitleaks.toml")
	if _, err := os.Stat(p); err != nil {
		t.Skipf("shared gitleaks config not available: %v", err)
	}
	return p
}

func TestSharedGitleaksConfigLoads(t *testing.T) {
	p := sharedGitleaks(t)
	rules, st, err := LoadGitleaksConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s", st)
	for _, f := range st.Failed {
		t.Logf("failed: %s: %s", f.ID, f.Reason)
	}
	for _, n := range st.Notes {
		t.Logf("note: %s", n)
	}
	if st.Rules != 222 {
		t.Errorf("%d rules read, want 222", st.Rules)
	}
	if st.Loaded < st.Rules*9/10 || st.Loaded != len(rules) {
		t.Errorf("only %d of %d rules loaded", st.Loaded, st.Rules)
	}
	if st.Allowlists != 1 || st.PathOnly != 1 {
		t.Errorf("allowlists %d, path-only rules %d", st.Allowlists, st.PathOnly)
	}
	// The analyzer builds with them, next to the built-in rules.
	a, err := New(WithGitleaksConfig(p))
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Rules()) != len(BuiltinRules())+st.Loaded || len(a.GitleaksStats()) != 1 {
		t.Errorf("%d rules in the analyzer", len(a.Rules()))
	}
	if a.Version() == BuiltinVersion {
		t.Error("version does not change with a gitleaks config")
	}
}

// A sample of gitleaks' rules fire on synthetic matching input, with
// gitleaks' ids, and its global allowlist applies.
func TestSharedGitleaksRulesFire(t *testing.T) {
	p := sharedGitleaks(t)
	a := MustNew(WithoutBuiltinRules(), WithGitleaksConfig(p))
	for _, c := range []struct{ id, path, text string }{
		{"aws-access-token", "", "aws_access_key_id = AKIA{{A:16}}\n"},
		{"github-pat", "", "token: ghp_{{an:36}}\n"},
		{"gitlab-pat", "", "token: glpat-{{url:20}}\n"},
		{"slack-bot-token", "", "SLACK_BOT_TOKEN=xoxb-{{d:12}}-{{d:12}}-{{an:24}}\n"},
		{"slack-webhook-url", "", "hook: https://hooks.slack.com/services/T{{U:8}}/B{{U:8}}/{{an:24}}\n"},
		{"stripe-access-token", "", "STRIPE_KEY=sk_live_{{an:32}}\n"},
		{"npm-access-token", "", "NPM_TOKEN=npm_{{l:36}}\n"},
		{"private-key", "/root/.ssh/id_rsa", "-----BEGIN RSA PRIVATE KEY-----\n{{pem:12}}\n-----END RSA PRIVATE KEY-----\n"},
		{"jwt", "", "Authorization: Bearer " + jwtHead + ".eyJ{{an:40}}.{{url:43}}\n"},
		{"generic-api-key", "/app/config.ini", "db_secret = Zx{{an:30}}9\n"},
		{"pkcs12-file", "/app/certs/client.p12", "0\x82\x0a\x01"},
	} {
		path := c.path
		if path == "" {
			path = "/app/settings.txt"
		}
		text := expand(t, c.text, "gitleaks/"+c.id)
		res, err := a.Analyze(context.Background(), analyzertest.Input(path, []byte(text), 0o644))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(secretsOf(res), func(f *finding.Finding) bool {
			return f.RuleID == c.id && f.Attributes["source"] == "gitleaks:gitleaks.toml"
		}) {
			t.Errorf("%s: no finding in %q: %+v", c.id, text, secretsOf(res))
		}
	}
	// gitleaks' global allowlist: node_modules, lock files, its stopwords.
	text := expand(t, "token: ghp_{{an:36}}\n", "gitleaks/allow")
	for _, p := range []string{"/app/node_modules/x/index.js", "/app/package-lock.json"} {
		res, _ := a.Analyze(context.Background(), analyzertest.Input(p, []byte(text), 0o644))
		if n := len(secretsOf(res)); n != 0 {
			t.Errorf("%s: %d findings despite the global allowlist", p, n)
		}
	}
}

func parse(t *testing.T, toml string) ([]*Rule, *GitleaksStats) {
	t.Helper()
	rules, st, err := ParseGitleaksConfig([]byte(toml), filepath.Join(t.TempDir(), "custom.toml"))
	if err != nil {
		t.Fatal(err)
	}
	return rules, st
}

func TestGitleaksConfigFeatures(t *testing.T) {
	rules, st := parse(t, `
title = "custom"

[allowlist]
description = "global"
paths = ['''(^|/)vendored/''']
stopwords = ["dummyvalue"]

[[allowlists]]
targetRules = ["acme"]
regexTarget = "line"
regexes = ['''NOT-A-SECRET''']

[[rules]]
id = "acme"
description = "ACME token"
regex = '''acme_(?P<tok>[a-z0-9]{20})'''
secretGroup = 1
keywords = ["ACME_"]
tags = ["acme"]
[[rules.allowlists]]
condition = "AND"
paths = ['''\.md$''']
regexes = ['''^0000''']

[[rules]]
id = "old-allowlist"
regex = '''old_[a-z]{10}'''
[rules.allowlist]
regexes = ['''old_aaaa''']

[[rules]]
id = "lookahead"
regex = '''secret(?=[0-9]{4})'''

[[rules]]
id = "backref"
regex = '''(a)\1'''

[[rules]]
id = "bad-group"
regex = '''x(y)'''
secretGroup = 3

[[rules]]
id = "empty"

[[rules]]
id = "aux"
regex = '''aux_[0-9]{4}'''
skipReport = true

[[rules]]
id = "composite"
regex = '''comp_[0-9]{4}'''
[[rules.required]]
id = "aux"

[[rules]]
id = "key-file"
path = '''\.keystore$'''

[[rules]]
id = "context"
regex = '''\b(\d{16}\|[a-z0-9]{30})'''
keywords = ["acmebook"]
`)
	ids := []string{}
	for _, r := range rules {
		ids = append(ids, r.ID)
	}
	if !slices.Equal(ids, []string{"acme", "old-allowlist", "key-file", "context"}) {
		t.Errorf("loaded %v", ids)
	}
	failed := map[string]string{}
	for _, f := range st.Failed {
		failed[f.ID] = f.Reason
	}
	for _, id := range []string{"lookahead", "backref", "bad-group", "empty"} {
		if failed[id] == "" {
			t.Errorf("%s did not fail (%v)", id, st.Failed)
		}
	}
	if !strings.Contains(failed["lookahead"], "look-around") {
		t.Errorf("lookahead reason %q", failed["lookahead"])
	}
	if len(st.Skipped) != 2 || st.Rules != 10 || st.Loaded != 4 || st.PathOnly != 1 || st.Allowlists != 2 {
		t.Errorf("stats %s, skipped %v", st, st.Skipped)
	}

	a := MustNew(WithoutBuiltinRules(), WithRules(rules...))
	check := func(path, text string, want int) {
		t.Helper()
		res, err := a.Analyze(context.Background(), analyzertest.Input(path, []byte(text), 0o644))
		if err != nil {
			t.Fatal(err)
		}
		got := secretsOf(res)
		if len(got) != want {
			t.Errorf("%s %q: %d findings, want %d: %+v", path, text, len(got), want, got)
		}
	}
	check("/app/a.txt", "k = ACME_q8w2e5r7t1y4u6i9o0p3\n", 0)      // keywords are case-insensitive, the regex is not
	check("/app/a.txt", "k = acme_q8w2e5r7t1y4u6i9o0p3\n", 1)      // secret group
	check("/app/vendored/a.txt", "acme_q8w2e5r7t1y4u6i9o0p3\n", 0) // global path allowlist
	check("/app/a.txt", "acme_dummyvalue0123456789\n", 0)          // global stopword
	check("/app/a.txt", "acme_q8w2e5r7t1y4u6i9o0p3 NOT-A-SECRET\n", 0)
	check("/app/a.md", "acme_0000e5r7t1y4u6i9o0p3\n", 0) // AND: path and regex
	check("/app/a.txt", "acme_0000e5r7t1y4u6i9o0p3\n", 1)
	check("/app/a.txt", "old_aaaabbbbcc old_qwertyuiop\n", 1)
	check("/app/app.keystore", "\x00binary", 1)
	check("/app/vendored/app.keystore", "\x00binary", 0) // path-only rules honour path allowlists
	// A context keyword far from the match: the rule sees the whole file.
	check("/app/a.txt", "[acmebook]\nname = x\n\n\nid = 1234567890123456|q8w2e5r7t1y4u6i9o0p3a5s7d9f1g3\n", 1)
	check("/app/a.txt", "id = 1234567890123456|q8w2e5r7t1y4u6i9o0p3a5s7d9f1g3\n", 0)

	res, _ := a.Analyze(context.Background(), analyzertest.Input("/app/a.txt", []byte("x acme_q8w2e5r7t1y4u6i9o0p3\n"), 0o644))
	if f := secretsOf(res); len(f) != 1 || f[0].Severity != finding.High || !slices.Contains(f[0].Tags, "acme") ||
		f[0].Title != "ACME token" || f[0].Evidence != "acme_q8w2****" {
		t.Errorf("finding %+v", f)
	}
}

func TestGitleaksExtend(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "base.toml")
	if err := os.WriteFile(base, []byte(`
[[rules]]
id = "one"
regex = '''one_[0-9]{8}'''
[[rules]]
id = "two"
regex = '''two_[0-9]{8}'''
[[rules]]
id = "three"
regex = '''three_[0-9]{8}'''
`), 0o644); err != nil {
		t.Fatal(err)
	}
	top := filepath.Join(dir, "top.toml")
	if err := os.WriteFile(top, []byte(`
[extend]
path = "base.toml"
useDefault = true
disabledRules = ["two"]
[[rules]]
id = "three"
regex = '''three_[a-z]{8}'''
`), 0o644); err != nil {
		t.Fatal(err)
	}
	rules, st, err := LoadGitleaksConfig(top)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rules {
		got = append(got, r.ID+"="+r.Regex.String())
	}
	if !slices.Equal(got, []string{"one=one_[0-9]{8}", "three=three_[a-z]{8}"}) {
		t.Errorf("rules %v", got)
	}
	if len(st.Notes) == 0 || !strings.Contains(strings.Join(st.Notes, "\n"), "useDefault") {
		t.Errorf("notes %v", st.Notes)
	}
	// A config extending itself stops at the depth limit.
	self := filepath.Join(dir, "self.toml")
	if err := os.WriteFile(self, []byte("[extend]\npath = \"self.toml\"\n[[rules]]\nid = \"x\"\nregex = 'x'\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadGitleaksConfig(self); err != nil {
		t.Fatal(err)
	}
}

func TestGitleaksConfigErrors(t *testing.T) {
	for name, doc := range map[string]string{
		"not toml":    "[[rules]\nid=",
		"wrong types": "[[rules]]\nid = 3\n",
	} {
		if _, _, err := ParseGitleaksConfig([]byte(doc), name); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	big := make([]byte, maxConfigBytes+1)
	if _, _, err := ParseGitleaksConfig(big, "big"); err == nil {
		t.Error("oversized config accepted")
	}
}

// Rules loaded from a gitleaks config and the built-in ones share ids:
// both are kept, the gitleaks one renamed.
func TestGitleaksIDClash(t *testing.T) {
	a := MustNew(WithGitleaksTOML("mine.toml", []byte("[[rules]]\nid = \"github-pat\"\nregex = '''ghp_[0-9a-zA-Z]{36}'''\nkeywords = [\"ghp_\"]\n")))
	if !slices.ContainsFunc(a.Rules(), func(r *Rule) bool { return r.ID == "gitleaks:github-pat" }) {
		t.Error("clashing id not renamed")
	}
	// The same token is one finding (the built-in rule comes first).
	text := expand(t, "t = ghp_{{an:36}}\n", "clash")
	res, _ := a.Analyze(context.Background(), analyzertest.Input("/app/x.txt", []byte(text), 0o644))
	if f := secretsOf(res); len(f) != 1 || f[0].RuleID != "github-pat" {
		t.Errorf("findings %+v", f)
	}
}
