package policy

import (
	"os"
	"testing"
)

// FuzzParse feeds arbitrary documents to Parse and, when they parse, to
// Compile: neither may panic or hang, whatever the input.
func FuzzParse(f *testing.F) {
	for _, p := range []string{"testdata/base.yaml", "testdata/user.yaml"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("macros:\n  a: b\n  b: a\nrules:\n  - id: r\n    condition: a\n"))
	f.Add([]byte("lists:\n  l: {append: true, items: [a]}\n"))
	f.Add([]byte("rules:\n  - &x {id: a, condition: 'true'}\n  - *x\n"))
	env := testEnv(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := Parse("fuzz.yaml", data)
		if err != nil {
			return
		}
		_, _ = Compile(env, d)
	})
}

// FuzzIdentSpans checks the CEL lexer used for macro expansion never panics
// and returns ordered, in-range spans.
func FuzzIdentSpans(f *testing.F) {
	f.Add(`a && "b" || c.d(e) // f`)
	f.Add(`r'''x''' + b"\"" + 1.5e3`)
	f.Fuzz(func(t *testing.T, s string) {
		last := 0
		for _, sp := range identSpans(s) {
			if sp[0] < last || sp[1] <= sp[0] || sp[1] > len(s) {
				t.Fatalf("bad span %v in %q", sp, s)
			}
			last = sp[1]
		}
	})
}
