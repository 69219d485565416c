package report

import "testing"

func TestParseLicenseExpression(t *testing.T) {
	tests := []struct {
		in       string
		want     string
		ok       bool
		single   bool
		compound bool
	}{
		{in: "MIT", want: "MIT", ok: true, single: true},
		{in: "mit", want: "MIT", ok: true, single: true},
		{in: "  Apache-2.0 ", want: "Apache-2.0", ok: true, single: true},
		{in: "GPL-2.0+", want: "GPL-2.0+", ok: true},
		{in: "GPL-2.0-or-later WITH Classpath-exception-2.0", want: "GPL-2.0-or-later WITH Classpath-exception-2.0", ok: true},
		{in: "MIT OR Apache-2.0", want: "MIT OR Apache-2.0", ok: true, compound: true},
		{in: "mit or apache-2.0", want: "MIT OR Apache-2.0", ok: true, compound: true},
		{in: "(MIT OR Apache-2.0) AND BSD-3-Clause", want: "(MIT OR Apache-2.0) AND BSD-3-Clause", ok: true, compound: true},
		{in: "((MIT))", want: "((MIT))", ok: true},
		{in: "", ok: false},
		{in: "GPL-3+", ok: false},
		{in: "BSD", ok: false},
		{in: "LicenseRef-custom", ok: false},
		{in: "MIT AND", ok: false},
		{in: "AND MIT", ok: false},
		{in: "(MIT", ok: false},
		{in: "MIT)", ok: false},
		{in: "MIT Apache-2.0", ok: false},
		{in: "MIT And Apache-2.0", ok: false},
		{in: "MIT WITH", ok: false},
		{in: "MIT WITH Not-An-Exception", ok: false},
		{in: "()", ok: false},
	}
	for _, tt := range tests {
		got, ok := parseLicenseExpression(tt.in)
		if ok != tt.ok {
			t.Errorf("parseLicenseExpression(%q) ok = %v, want %v", tt.in, ok, tt.ok)
			continue
		}
		if !ok {
			continue
		}
		if got.text != tt.want || got.single != tt.single || got.compound != tt.compound {
			t.Errorf("parseLicenseExpression(%q) = %+v, want {text:%s single:%v compound:%v}", tt.in, got, tt.want, tt.single, tt.compound)
		}
	}
}

func TestSPDXLicenseDeclared(t *testing.T) {
	tests := []struct {
		in   []string
		want string
	}{
		{nil, "NOASSERTION"},
		{[]string{""}, "NOASSERTION"},
		{[]string{"MIT"}, "MIT"},
		{[]string{"MIT", "MIT"}, "MIT"},
		{[]string{"MIT", "Zlib"}, "MIT AND Zlib"},
		{[]string{"MIT OR Apache-2.0", "Zlib"}, "(MIT OR Apache-2.0) AND Zlib"},
		{[]string{"MIT", "GPL-2+"}, "NOASSERTION"},
		{[]string{"public-domain"}, "NOASSERTION"},
	}
	for _, tt := range tests {
		if got := spdxLicenseDeclared(tt.in); got != tt.want {
			t.Errorf("spdxLicenseDeclared(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCycloneDXLicenses(t *testing.T) {
	if cycloneDXLicenses(nil) != nil || cycloneDXLicenses([]string{" "}) != nil {
		t.Error("no licenses should give no licenses field")
	}
	l := *cycloneDXLicenses([]string{"MIT", "GPL-2+"})
	if len(l) != 2 || l[0].License.ID != "MIT" || l[1].License.Name != "GPL-2+" {
		t.Errorf("mixed licenses = %+v", l)
	}
	l = *cycloneDXLicenses([]string{"MIT", "GPL-2.0+"})
	if len(l) != 1 || l[0].Expression != "MIT AND GPL-2.0+" {
		t.Errorf("licenses needing an expression = %+v", l)
	}
	l = *cycloneDXLicenses([]string{"MIT OR Apache-2.0", "not spdx"})
	if len(l) != 2 || l[0].License.Name != "MIT OR Apache-2.0" || l[1].License.Name != "not spdx" {
		t.Errorf("expression mixed with a non-SPDX name = %+v", l)
	}
}

func TestSPDXLicenseList(t *testing.T) {
	ids := spdxLicenseIDs()
	if len(ids) < 500 {
		t.Fatalf("only %d SPDX ids loaded", len(ids))
	}
	for _, id := range []string{"MIT", "Apache-2.0", "GPL-2.0-only", "0BSD", "Classpath-exception-2.0"} {
		if got, ok := spdxLicenseID(id); !ok || got != id {
			t.Errorf("spdxLicenseID(%q) = %q, %v", id, got, ok)
		}
	}
	if _, ok := spdxLicenseID("# SPDX License List 3.17: license and exception identifiers."); ok {
		t.Error("comment line loaded as an id")
	}
}
