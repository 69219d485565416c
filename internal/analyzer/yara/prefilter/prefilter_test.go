package prefilter

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestAtoms(t *testing.T) {
	cases := []struct {
		str  string
		want string // "" = no atom
	}{
		{`"abc\x41\\\"d"`, "abcA\\\"d"},
		{`"xm\x72ig" nocase`, "xmrig"},
		{`"ab" wide`, "a\x00b\x00"},
		{`"ab" wide ascii`, "ab|a\x00b\x00"},
		{`"secret" xor`, ""},
		{`"secret" base64`, ""},
		{`"x"`, ""}, // too short
		{`{ 6a 29 58 99 ?? 02 5f 6a 01 5e }`, "\x02\x5f\x6a\x01\x5e"},
		{`{ 6a ( 29 | 30 ) 58 99 02 [2-4] 5f }`, "\x58\x99\x02"},
		{`{ 6A?? 5f }`, ""},
		{`/stratum2?\+(tcp|ssl|tls):\/\//`, "stratum2+tcp://|stratum2+ssl://|stratum2+tls://|stratum+tcp://|stratum+ssl://|stratum+tls://"},
		{`/(^|\s)\/[^\s]{1,100}\.so/`, ".so"},
		{`/eval\s*\(\s*base64_decode/ nocase`, "base64_decode"},
		{`/a|b/`, ""}, // one-byte alternatives: none
		{`/(abc)+def?/`, "abc"},
		{`/\b(xmrig|xmr-stak|minerd)\b[^\n]{0,100}\s(-o|--url)[ =]\S/ nocase`, "xmrig|xmr-stak|minerd"},
		{`/(supportxmr\.com|c3pool\.(com|org))/`, "supportxmr.com|c3pool.com|c3pool.org"},
		{`/"niceh[a]sh"\s*:/`, "\"nicehash\""},
		{`/[Ee]val\(/`, "Eval("}, // matched ignoring case
		{`/(ab|c)d/`, "abd|cd"},
		{`/(ab|c)x*d/`, ""}, // "c" and "d": one byte each
		{`/x(ab|cd)yz/`, "xabyz|xcdyz"},
		{`/stratum2?\+tcp/`, "stratum2+tcp|stratum+tcp"},
	}
	for _, c := range cases {
		s, err := Parse([]byte("rule r { strings: $a = " + c.str + "\n condition: $a }"))
		if err != nil {
			t.Errorf("%s: %v", c.str, err)
			continue
		}
		var texts []string
		for _, a := range s.rules[0].strs["$a"] {
			texts = append(texts, s.Atoms[a].Text)
		}
		got := strings.Join(texts, "|")
		if got != c.want {
			t.Errorf("%s: atom %q, want %q", c.str, got, c.want)
		}
	}
}

// Conditions in three-valued logic: whether a rule may match given which
// atoms a file has.
func TestConditions(t *testing.T) {
	const strs = `strings: $a = "alpha" $b = "bravo" $c = "charlie" $n = "x" xor
`
	f := File{Size: 1000, Name: "ld.so.preload", Path: "/etc", Ext: "preload"}
	cases := []struct {
		cond string
		seen []string
		want bool
	}{
		{"$a", nil, false},
		{"$a", []string{"alpha"}, true},
		{"$n", nil, true}, // no atom: may match
		{"not $a", nil, true},
		{"$a or $b", []string{"bravo"}, true},
		{"$a and $b", []string{"bravo"}, false},
		{"2 of them", []string{"alpha"}, true}, // $n may match
		{"2 of ($a, $b, $c)", []string{"alpha"}, false},
		{"2 of ($a, $b, $c)", []string{"alpha", "charlie"}, true},
		{"all of ($a*)", nil, false},
		{"any of ($a, $b) at 0", nil, false},
		{"none of them", nil, true},
		{"#a > 2", nil, false},
		{"#a == 0", nil, true},
		{"$a at 0 or filesize < 10", nil, false},
		{"$a at 0 or filesize < 10KB", nil, true},
		{"filesize > 1MB and $a", []string{"alpha"}, false},
		{`filename == "ld.so.preload" and filepath == "/etc" and $a`, []string{"alpha"}, true},
		{`filename == "rc.local" and $a`, []string{"alpha"}, false},
		{`extension != "preload" or $b`, nil, false},
		{"uint32(0) == 0x464c457f and ($a or (filesize < 4KB and 1 of ($b, $c) and for any i in (0..filesize - 2): (uint16(i) == 0x050f or uint16(i) == 0x80cd)))",
			[]string{"bravo"}, true},
		{"uint32(0) == 0x464c457f and ($a or (filesize < 10 and 1 of ($b, $c)))", []string{"bravo"}, false},
		{"(#a + #b) > 2", nil, true},
		{"PKT_ELF and not PKT_Other", nil, true},
		{"false or $a", nil, false},
		{"true", nil, true},
	}
	for _, c := range cases {
		s, err := Parse([]byte("rule r { " + strs + "condition: " + c.cond + " }"))
		if err != nil {
			t.Errorf("%s: %v", c.cond, err)
			continue
		}
		seen := func(id int) bool { return slices.Contains(c.seen, s.Atoms[id].Text) }
		if got := s.Possible(f, seen); got != c.want {
			t.Errorf("%s with %v: possible %v, want %v", c.cond, c.seen, got, c.want)
		}
	}
}

func TestRuleShapes(t *testing.T) {
	src := `
import "pe"
/* comment with } and "quotes" */
private rule helper { condition: uint16(0) == 0x5a4d }
global private rule g : tag1 tag2 {
  meta:
    a = "x}" // comment
    b = -1
    c = true
  condition: true
}
rule r : t {
  meta: description = "a \"quoted\" }"
  strings:
    $a = "alpha" fullword private
  condition:
    helper and $a
}`
	s, err := Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.rules) != 3 || !s.rules[0].private || !s.rules[1].private || s.rules[2].private {
		t.Fatalf("rules %+v", s.rules)
	}
	if s.Possible(File{}, func(int) bool { return false }) {
		t.Fatal("private rules count, or $a was ignored")
	}
	for _, bad := range []string{
		`include "other.yar"`,
		`rule r { condition: $a`,
		`rule r { strings: $a = "x" unknownmod condition: $a }`,
		`rule r { strings: $a = "x\q" condition: $a }`,
		`rule { condition: true }`,
		`rule r { condition: }`,
	} {
		if _, err := Parse([]byte(bad)); !errors.Is(err, ErrUnsupported) {
			t.Errorf("%s: %v, want ErrUnsupported", bad, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`rule r { strings: $a = { 6a ?? ( 01 | 02 ) [1-2] 5e } $b = /ab+c/ condition: 2 of them and filesize < 1KB }`))
	f.Add([]byte(`rule r { strings: $a = "x\x41" wide condition: #a > 1 or for any i in (1..#a): (@a[i] < 10) }`))
	f.Fuzz(func(t *testing.T, src []byte) {
		s, err := Parse(src)
		if err != nil {
			return
		}
		s.Possible(File{Size: 100}, func(int) bool { return false })
		s.Possible(File{Size: 100}, func(int) bool { return true })
	})
}
