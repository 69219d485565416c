package policy

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"cel.dev/cel-go/cel"
)

func testEnv(t testing.TB) *cel.Env {
	t.Helper()
	env, err := cel.NewEnv(
		cel.Variable("proc", cel.MapType(cel.StringType, cel.StringType)),
		cel.Variable("user", cel.StringType),
		cel.Variable("n", cel.IntType),
		cel.Variable("items", cel.ListType(cel.StringType)),
	)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

func mustParse(t testing.TB, name, src string) *Document {
	t.Helper()
	d, err := Parse(name, []byte(src))
	if err != nil {
		t.Fatalf("Parse(%s): %v", name, err)
	}
	return d
}

func ids(ms []Match) string {
	var s []string
	for _, m := range ms {
		s = append(s, m.Rule.ID)
	}
	return strings.Join(s, ",")
}

func TestMergeAndEval(t *testing.T) {
	docs, err := ParsePaths("testdata/base.yaml", "testdata/user.yaml")
	if err != nil {
		t.Fatal(err)
	}
	set, err := Compile(testEnv(t), docs...)
	if err != nil {
		t.Fatal(err)
	}
	if l, _ := set.List("shells"); strings.Join(l, ",") != "sh,bash,zsh" {
		t.Errorf("appended list = %v", l)
	}
	if got := len(set.Rules()); got != 4 {
		t.Errorf("%d rules, want 4", got)
	}
	tests := []struct {
		name string
		vars map[string]any
		want string
	}{
		{"shell in container", map[string]any{"proc": map[string]string{"name": "bash", "container": "c1"}, "user": "bob"}, "shell-in-container,disabled-rule"},
		{"appended list item", map[string]any{"proc": map[string]string{"name": "zsh", "container": "c1"}, "user": "bob"}, "shell-in-container,disabled-rule"},
		{"exception", map[string]any{"proc": map[string]string{"name": "bash", "container": "c1"}, "user": "alice"}, "disabled-rule"},
		{"host shell, root rule disabled", map[string]any{"proc": map[string]string{"name": "bash", "container": ""}, "user": "root"}, "disabled-rule"},
		{"later doc rule", map[string]any{"proc": map[string]string{"name": "nc", "container": ""}, "user": "x"}, "disabled-rule,user-rule"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ms, err := set.Eval(context.Background(), tt.vars)
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(ms); got != tt.want {
				t.Errorf("matches = %q, want %q", got, tt.want)
			}
		})
	}
	r := set.Rules()[0]
	if r.Priority != High || r.Tags[0] != "T1059" || r.Action != "alert" || r.Message != "shell in container" {
		t.Errorf("rule fields lost: %+v", r.Rule)
	}
	if set.Rules()[3].Labels["source"] != "exec" {
		t.Errorf("labels lost")
	}
	if !strings.Contains(r.Expr, `["sh", "bash", "zsh"]`) {
		t.Errorf("expanded expr = %s", r.Expr)
	}
}

func TestEvalErrorAndFirst(t *testing.T) {
	d := mustParse(t, "e.yaml", `
rules:
  - id: missing-key
    condition: proc["nope"] == "x"
  - id: ok
    condition: user == "u"
`)
	set, err := Compile(testEnv(t), d)
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]any{"proc": map[string]string{}, "user": "u"}
	ms, err := set.Eval(context.Background(), vars)
	var ee *EvalError
	if !errors.As(err, &ee) || ee.RuleID != "missing-key" {
		t.Fatalf("err = %v, want EvalError for missing-key", err)
	}
	if ids(ms) != "ok" {
		t.Errorf("matches = %s", ids(ms))
	}
	r, err := set.First(context.Background(), vars)
	if err == nil || r == nil || r.ID != "missing-key" {
		t.Errorf("First = %v, %v; want the failing rule and its error", r, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := set.Eval(ctx, vars); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled Eval err = %v", err)
	}
}

func TestCostLimit(t *testing.T) {
	d := mustParse(t, "c.yaml", `
rules:
  - id: expensive
    condition: items.all(a, items.all(b, items.all(c, a + b + c == "")))
`)
	set, err := CompileWith(testEnv(t), []Option{WithCostLimit(1000)}, d)
	if err != nil {
		t.Fatal(err)
	}
	items := make([]string, 100)
	_, err = set.Eval(context.Background(), map[string]any{"items": items})
	if err == nil || !strings.Contains(err.Error(), "cost") {
		t.Fatalf("err = %v, want a cost limit error", err)
	}
}

// TestErrors checks that each bad document is refused with the right
// file:line:column.
func TestErrors(t *testing.T) {
	tests := []struct {
		name, src, want string
		compile         bool
	}{
		{"yaml syntax", "rules: [\n", "bad.yaml: ", false},
		{"unknown top key", "rulez: []\n", "bad.yaml:1:1: unknown top-level key \"rulez\"", false},
		{"rules not list", "rules: {}\n", "bad.yaml:1:8: rules: expected a list", false},
		{"missing id", "rules:\n  - condition: 'true'\n", "bad.yaml:2:5: rule: missing id", false},
		{"missing condition", "rules:\n  - id: a\n    action: deny\n", "bad.yaml:2:5: rule a: missing condition", false},
		{"duplicate id", "rules:\n  - id: a\n    condition: 'true'\n  - id: a\n    condition: 'true'\n", "bad.yaml:4:5: rule a: duplicate id (first defined at bad.yaml:2:5)", false},
		{"unknown rule key", "rules:\n  - id: a\n    condtion: 'true'\n", "bad.yaml:3:5: rule a: unknown key \"condtion\"", false},
		{"bad priority", "rules:\n  - id: a\n    condition: 'true'\n    priority: urgent\n", "bad.yaml:4:15: rule a priority \"urgent\"", false},
		{"bad enabled", "rules:\n  - id: a\n    condition: 'true'\n    enabled: yes please\n", "bad.yaml:4:14: rule a enabled: expected true or false", false},
		{"duplicate key", "rules:\n  - id: a\n    id: b\n    condition: 'true'\n", "bad.yaml:3:5: rule: duplicate key \"id\"", false},
		{"bad list name", "lists:\n  bad-name: [a]\n", "bad.yaml:2:3: list name \"bad-name\"", false},
		{"list not strings", "lists:\n  l: [[a]]\n", "bad.yaml:2:7: list l: expected a string", false},
		{"cel syntax plain", "rules:\n  - id: a\n    condition: user == == 'x'\n", "bad.yaml:3:24: rule a condition: Syntax error", true},
		{"cel syntax quoted", "rules:\n  - id: a\n    condition: \"user == == 'x'\"\n", "bad.yaml:3:25: rule a condition: Syntax error", true},
		{"cel syntax literal block", "rules:\n  - id: a\n    condition: |\n      user == 'x' &&\n      user ==== 'y'\n", "bad.yaml:5:", true},
		{"cel type error", "rules:\n  - id: a\n    condition: user == 1\n", "bad.yaml:3:21: rule a condition: found no matching overload", true},
		{"undeclared", "rules:\n  - id: a\n    condition: nosuch == 'x'\n", "bad.yaml:3:16: rule a condition: undeclared reference to 'nosuch'", true},
		{"not bool", "rules:\n  - id: a\n    condition: user\n", "bad.yaml:3:16: rule a condition: must be a bool expression, is string", true},
		{"macro cycle", "macros:\n  a: b\n  b: a\nrules:\n  - id: r\n    condition: a\n", "refers to itself (cycle)", true},
		{"macro type error after expansion", "macros:\n  m: user + 1\nrules:\n  - id: r\n    condition: m\n", "bad.yaml:5:16: rule r condition (after expanding macros and lists): found no matching overload", true},
		{"macro syntax", "macros:\n  m: user ==\n", "bad.yaml:2:", true},
		{"append without base", "lists:\n  l: {append: true, items: [a]}\n", "bad.yaml:2:3: list l: append to a list that no earlier document defines", true},
		{"toggle unknown", "rules:\n  - id: ghost\n    enabled: false\n", "bad.yaml:2:5: rule ghost: enables or disables a rule that no earlier document defines", true},
		{"keyword list", "lists:\n  in: [a]\n", "bad.yaml:2:3: list name \"in\" is a CEL keyword", true},
		{"exception error", "rules:\n  - id: a\n    condition: 'true'\n    exceptions: [user = 1]\n", "bad.yaml:4:", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Parse("bad.yaml", []byte(tt.src))
			if err == nil && tt.compile {
				_, err = Compile(testEnv(t), d)
			}
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error:\n  %v\nwant it to contain\n  %s", err, tt.want)
			}
		})
	}
}

func TestExpandSkipsStringsAndSelections(t *testing.T) {
	e := newExpander(map[string]string{"m": "user == 'x'"}, map[string][]string{"l": {"a", `b"c`}})
	tests := []struct{ in, want string }{
		{`m`, `(user == 'x')`},
		{`"m" == user && m`, `"m" == user && (user == 'x')`},
		{`proc.m == 'l'`, `proc.m == 'l'`},
		{`proc . m == r'l'`, `proc . m == r'l'`},
		{`m(1)`, `m(1)`},
		{`user in l // m l`, `user in ["a", "b\"c"] // m l`},
		{`1.5 > 0.0 && l.size() > 0`, `1.5 > 0.0 && ["a", "b\"c"].size() > 0`},
		{`'''m ' l''' + """l"""`, `'''m ' l''' + """l"""`},
		{`b"m" == b'l' && rm`, `b"m" == b'l' && rm`},
	}
	for _, tt := range tests {
		got, err := e.expand(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("expand(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestExpansionBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("macros:\n  m0: user == 'x'\n")
	for i := 1; i < 40; i++ {
		b.WriteString("  m" + strconv.Itoa(i) + ": m" + strconv.Itoa(i-1) + " && m" + strconv.Itoa(i-1) + "\n")
	}
	b.WriteString("rules:\n  - id: r\n    condition: m39\n")
	d := mustParse(t, "bomb.yaml", b.String())
	if _, err := Compile(testEnv(t), d); err == nil || !strings.Contains(err.Error(), "longer than") {
		t.Fatalf("err = %v, want expansion limit", err)
	}
}

func TestParsePathsDirAndErrors(t *testing.T) {
	dir := t.TempDir()
	for name, src := range map[string]string{
		"b.yaml": "rules:\n  - id: b\n    condition: 'true'\n",
		"a.yml":  "rules:\n  - id: a\n    condition: 'true'\n",
		"c.txt":  "not yaml: [",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	docs, err := ParsePaths(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 2 || docs[0].Rules[0].ID != "a" || docs[1].Rules[0].ID != "b" {
		t.Errorf("docs = %+v", docs)
	}
	if _, err := ParsePaths(filepath.Join(dir, "missing.yaml")); err == nil {
		t.Error("missing file: no error")
	}
	if _, err := Parse("big", make([]byte, MaxDocumentSize+1)); err == nil {
		t.Error("oversized document: no error")
	}
}

func BenchmarkEval(b *testing.B) {
	docs, err := ParsePaths("testdata/base.yaml", "testdata/user.yaml")
	if err != nil {
		b.Fatal(err)
	}
	set, err := Compile(testEnv(b), docs...)
	if err != nil {
		b.Fatal(err)
	}
	act, _ := Activation(map[string]any{"proc": map[string]string{"name": "bash", "container": "c1"}, "user": "bob"})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := set.Eval(ctx, act); err != nil {
			b.Fatal(err)
		}
	}
}
