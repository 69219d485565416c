package report

import "testing"

func TestParseLicenseExpression(t *testing.T) {
	// Valid expressions, normalised.
	for in, want := range map[string]licenseExpr{
		"MIT":           {text: "MIT", single: true},
		"mit":           {text: "MIT", single: true},
		"  Apache-2.0 ": {text: "Apache-2.0", single: true},
		"GPL-2.0+":      {text: "GPL-2.0+"},
		"GPL-2.0-or-later WITH Classpath-exception-2.0": {text: "GPL-2.0-or-later WITH Classpath-exception-2.0"},
		"MIT OR Apache-2.0":                             {text: "MIT OR Apache-2.0", compound: true},
		"mit or apache-2.0":                             {text: "MIT OR Apache-2.0", compound: true},
		"(MIT OR Apache-2.0) AND BSD-3-Clause":          {text: "(MIT OR Apache-2.0) AND BSD-3-Clause", compound: true},
		"((MIT))":                                       {text: "((MIT))"},
	} {
		if got, ok := parseLicenseExpression(in); !ok || got != want {
			t.Errorf("parseLicenseExpression(%q) = %+v, %v, want %+v, true", in, got, ok, want)
		}
	}
	// Invalid ones.
	for _, in := range []string{
		"", "GPL-3+", "BSD", "LicenseRef-custom", "MIT AND", "AND MIT", "(MIT", "MIT)",
		"MIT Apache-2.0", "MIT And Apache-2.0", "MIT WITH", "MIT WITH Not-An-Exception", "()",
	} {
		if got, ok := parseLicenseExpression(in); ok {
			t.Errorf("parseLicenseExpression(%q) = %+v, true, want not ok", in, got)
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
