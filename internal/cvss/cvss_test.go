package cvss

import (
	"errors"
	"strings"
	"testing"
)

// Expected scores below are published values; each case names its source.
// Abbreviations:
//
//	v2guide  FIRST, "A Complete Guide to the CVSS Version 2.0", section 3.3
//	         (https://www.first.org/cvss/v2/guide), scoring examples.
//	v31ex    FIRST, "CVSS v3.1 Examples" (https://www.first.org/cvss/v3.1/examples),
//	         entry for the CVE named in the case; vector/score pairs as
//	         transcribed in quay/claircore toolkit/types/cvss/testdata/v3{0,1}_score.list.
//	v40ex    FIRST, "CVSS v4.0 Examples" document version 1.8
//	         (https://www.first.org/cvss/v4.0/examples); pairs as transcribed in
//	         cticommons/cvss testdata/first/v40-base.json.
//	v40cc    quay/claircore toolkit/types/cvss/testdata/v4_score.list, a
//	         third-party fixture.
//	nvd      the NVD/CNA score published for the CVE named in the case.
//
// Beyond these, conformance_test.go recomputes every v2 and v3 base vector
// from the specification formulas and v4_test.go checks v4.0 against the
// FIRST reference set and go-cvss.
var knownScores = []struct {
	vector   string
	version  Version
	base     float64
	severity string
	source   string
}{
	// CVSS v2.0
	{"AV:N/AC:L/Au:N/C:P/I:P/A:P", V2, 7.5, "HIGH", "nvd CVE-2017-5645 (Apache Log4j advisory: 7.5), CVE-2011-0530"},
	{"AV:N/AC:L/Au:N/C:N/I:N/A:C", V2, 7.8, "HIGH", "v2guide 3.3.1 CVE-2002-0392"},
	{"AV:N/AC:L/Au:N/C:C/I:C/A:C", V2, 10.0, "HIGH", "v2guide 3.3.2 CVE-2003-0818"},
	{"AV:L/AC:H/Au:N/C:C/I:C/A:C", V2, 6.2, "MEDIUM", "v2guide 3.3.3 CVE-2003-0062"},
	{"AV:N/AC:L/Au:N/C:N/I:N/A:C/E:F/RL:OF/RC:C", V2, 7.8, "HIGH", "v2guide 3.3.1 CVE-2002-0392 (base score; temporal ignored)"},
	{"AV:L/AC:H/Au:N/C:C/I:C/A:C/E:POC/RL:OF/RC:C/CDP:H/TD:H/CR:M/IR:M/AR:M", V2, 6.2, "MEDIUM", "v2guide 3.3.3 CVE-2003-0062 (base score)"},
	{"AV:N/AC:L/Au:N/C:N/I:N/A:N", V2, 0.0, "LOW", "v2guide section 3.2.1: f(Impact)=0 if Impact=0; v2 LOW is 0.0-3.9"},

	// CVSS v3.0
	{"CVSS:3.0/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", V30, 7.8, "HIGH", "nvd CVE-2017-11697"},
	{"CVSS:3.0/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", V30, 6.1, "MEDIUM", "v31ex CVE-2013-1937"},
	{"CVSS:3.0/AV:N/AC:L/PR:L/UI:N/S:C/C:L/I:L/A:N", V30, 6.4, "MEDIUM", "v31ex CVE-2013-0375"},
	{"CVSS:3.0/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:N/A:N", V30, 3.1, "LOW", "v31ex CVE-2014-3566"},
	{"CVSS:3.0/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H", V30, 9.9, "CRITICAL", "v31ex CVE-2012-1516"},
	{"CVSS:3.0/AV:A/AC:L/PR:N/UI:N/S:C/C:H/I:N/A:H", V30, 9.3, "CRITICAL", "v31ex CVE-2013-6014"},

	// CVSS v3.1
	{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", V31, 9.8, "CRITICAL", "v31ex CVE-2014-6271"},
	{"CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", V31, 6.1, "MEDIUM", "v31ex CVE-2017-5942"},
	{"CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:N/I:N/A:N", V31, 0.0, "NONE", "v3.1 specification 7.1: base score 0 if Impact <= 0"},
	{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", V31, 7.5, "HIGH", "v31ex CVE-2014-0160"},
	{"CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H", V31, 7.2, "HIGH", "v31ex CVE-2012-0384"},
	{"CVSS:3.1/AV:L/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H", V31, 7.8, "HIGH", "v31ex CVE-2015-1098"},
	{"CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:C/C:N/I:H/A:N", V31, 6.8, "MEDIUM", "v31ex CVE-2008-1447"},
	{"CVSS:3.1/AV:P/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", V31, 6.8, "MEDIUM", "v31ex CVE-2014-2005"},
	{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:L/I:N/A:N", V31, 5.8, "MEDIUM", "v31ex CVE-2010-0467"},
	{"CVSS:3.1/AV:N/AC:L/PR:L/UI:R/S:C/C:H/I:H/A:H", V31, 9.0, "CRITICAL", "v31ex CVE-2019-7551"},
	{"CVSS:3.1/AV:A/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", V31, 8.8, "HIGH", "v31ex CVE-2011-1265"},
	{"CVSS:3.1/AV:P/AC:L/PR:N/UI:N/S:U/C:N/I:H/A:N", V31, 4.6, "MEDIUM", "v31ex CVE-2014-2019"},
	{"CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:N", V31, 7.4, "HIGH", "v31ex CVE-2014-0224"},
	{"CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:H/I:H/A:H", V31, 9.6, "CRITICAL", "v31ex CVE-2012-5376"},
	{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:L/A:L", V31, 8.6, "HIGH", "v31ex CVE-2016-5558"},
	{"CVSS:3.1/AV:L/AC:L/PR:H/UI:N/S:C/C:H/I:H/A:H", V31, 8.2, "HIGH", "v31ex CVE-2016-5729"},
	{"CVSS:3.1/AV:L/AC:L/PR:H/UI:N/S:U/C:N/I:H/A:H", V31, 6.0, "MEDIUM", "v31ex CVE-2015-2890"},
	{"CVSS:3.1/AV:P/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", V31, 7.6, "HIGH", "v31ex CVE-2018-3652"},
	{"CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:L/A:N", V31, 4.2, "MEDIUM", "v31ex CVE-2019-0884 (Edge)"},
	{"CVSS:3.1/S:U/C:H/I:H/A:H/AV:N/AC:L/PR:N/UI:N", V31, 9.8, "CRITICAL", "v31ex CVE-2014-6271, metrics reordered (v3 allows any order)"},

	// CVSS v4.0 (Base holds CVSS-B)
	{"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", V40, 9.3, "CRITICAL", "v40ex"},
	{"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H", V40, 10.0, "CRITICAL", "v40ex"},
	{"CVSS:4.0/AV:N/AC:L/AT:N/PR:L/UI:A/VC:H/VI:H/VA:H/SC:L/SI:L/SA:N", V40, 8.5, "HIGH", "v40ex"},
	{"CVSS:4.0/AV:L/AC:L/AT:P/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", V40, 7.3, "HIGH", "v40ex"},
	{"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:L/SI:L/SA:N", V40, 6.9, "MEDIUM", "v40ex"},
	{"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:A/VC:N/VI:N/VA:N/SC:L/SI:L/SA:N", V40, 5.1, "MEDIUM", "v40ex"},
	{"CVSS:4.0/AV:L/AC:L/AT:N/PR:N/UI:A/VC:L/VI:N/VA:N/SC:N/SI:N/SA:N", V40, 4.6, "MEDIUM", "v40ex"},
	{"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:N/SA:N", V40, 0.0, "NONE", "v40ex"},
	{"CVSS:4.0/AV:L/AC:L/AT:N/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", V40, 8.5, "HIGH", "nvd CVE-2026-16607, CVE-2026-44106 (CNA v4.0 score 8.5)"},
	{"CVSS:4.0/AV:N/AC:L/AT:P/PR:N/UI:P/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", V40, 7.7, "HIGH", "v40cc"},
	{"CVSS:4.0/AV:N/AC:L/AT:P/PR:N/UI:N/VC:H/VI:L/VA:L/SC:N/SI:N/SA:N", V40, 8.3, "HIGH", "v40cc"},
	{"CVSS:4.0/AV:L/AC:L/AT:N/PR:H/UI:N/VC:N/VI:N/VA:N/SC:H/SI:N/SA:N", V40, 5.9, "MEDIUM", "v40cc"},
	{"CVSS:4.0/AV:L/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H", V40, 9.4, "CRITICAL", "v40cc"},
	{"CVSS:4.0/AV:A/AC:L/AT:N/PR:N/UI:N/VC:N/VI:L/VA:N/SC:H/SI:N/SA:H", V40, 6.4, "MEDIUM", "v40cc"},
	{"CVSS:4.0/AV:P/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H", V40, 8.6, "HIGH", "v40cc"},
	{"CVSS:4.0/AV:N/AC:L/AT:N/PR:L/UI:N/VC:H/VI:N/VA:N/SC:N/SI:N/SA:N", V40, 7.1, "HIGH", "v40cc"},
	{"CVSS:4.0/AV:N/AC:L/AT:P/PR:N/UI:N/VC:H/VI:N/VA:N/SC:N/SI:N/SA:N", V40, 8.2, "HIGH", "v40cc"},
	{"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:H/SC:N/SI:N/SA:L", V40, 8.7, "HIGH", "v40cc"},
	{"CVSS:4.0/AV:L/AC:L/AT:N/PR:H/UI:N/VC:H/VI:H/VA:N/SC:N/SI:N/SA:N", V40, 8.3, "HIGH", "v40cc"},
	{"CVSS:4.0/AV:L/AC:L/AT:N/PR:N/UI:P/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", V40, 8.5, "HIGH", "v40cc"},
	{"CVSS:4.0/AV:P/AC:L/AT:P/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", V40, 5.4, "MEDIUM", "v40cc"},
	{"CVSS:4.0/AV:N/AC:L/AT:N/PR:H/UI:N/VC:H/VI:N/VA:N/SC:N/SI:N/SA:N", V40, 6.9, "MEDIUM", "v40cc"},
	{"CVSS:4.0/AV:A/AC:L/AT:N/PR:L/UI:A/VC:L/VI:L/VA:N/SC:N/SI:N/SA:H", V40, 4.1, "MEDIUM", "v40cc"},
	{"CVSS:4.0/AV:P/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:H/SA:N/S:P/V:D", V40, 8.3, "HIGH", "v40cc (supplemental metrics do not change the score)"},
	{"CVSS:4.0/AV:N/AC:L/AT:P/PR:N/UI:P/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:U", V40, 7.7, "HIGH", "v40cc: CVSS-B of this vector is 7.7 (its CVSS-BT 5.2 is not the base score)"},
	// The 2024-11-01 rounding fix of the reference calculator (x.x5 ties
	// round up): FIRSTdotorg/cvss-v4-calculator PR #4, backporting
	// RedHatProductSecurity/cvss-v4-calculator PR #67, cites this vector at
	// 8.6 (8.5 before the fix, and in go-cvss v0.6.4).
	{"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:P/VC:H/VI:L/VA:N/SC:H/SI:H/SA:H", V40, 8.6, "HIGH", "reference calculator rounding fix (PR #67)"},
}

func TestParseKnownScores(t *testing.T) {
	for _, tc := range knownScores {
		t.Run(tc.vector, func(t *testing.T) {
			got, err := Parse(tc.vector)
			if err != nil {
				t.Fatalf("Parse: %v (source: %s)", err, tc.source)
			}
			if got.Version != tc.version || got.Base != tc.base || got.Severity != tc.severity {
				t.Errorf("got %s %.1f %s, want %s %.1f %s (source: %s)",
					got.Version, got.Base, got.Severity, tc.version, tc.base, tc.severity, tc.source)
			}
			again, err := Parse(got.Vector)
			if err != nil || again != got {
				t.Errorf("canonical vector %q does not round-trip: %+v, %v", got.Vector, again, err)
			}
		})
	}
}

func TestParseCanonicalVector(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"CVSS:3.1/S:U/C:H/I:H/A:H/AV:N/AC:L/PR:N/UI:N", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"},
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:X/RL:X/RC:X", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"},
		{"CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:P", "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:P"},
		{"AV:N/AC:L/Au:N/C:P/I:P/A:P/E:ND/RL:ND/RC:ND", "AV:N/AC:L/Au:N/C:P/I:P/A:P"},
		{"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:X/CR:X/IR:X/AR:X/MAV:X/MAC:X/MAT:X/MPR:X/MUI:X/MVC:X/MVI:X/MVA:X/MSC:X/MSI:X/MSA:X/S:X/AU:X/R:X/V:X/RE:X/U:X",
			"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"},
		{"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:U/U:Red", "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:U/U:Red"},
	} {
		got, err := Parse(tc.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.in, err)
			continue
		}
		if got.Vector != tc.want {
			t.Errorf("Parse(%q).Vector = %q, want %q", tc.in, got.Vector, tc.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		vector, want string
	}{
		{"", "no metrics"},
		{"CVSS:3.1", "no metrics"},
		{"CVSS:3.1/", "no metrics"},
		{"CVSS:3.2/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", `unsupported CVSS version "3.2"`},
		{"CVSS:2.0/AV:N/AC:L/Au:N/C:P/I:P/A:P", `unsupported CVSS version "2.0"`},
		{"cvss:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "upper-case"},
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/", "empty metric"},
		{"CVSS:3.1/AV:N//AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "empty metric"},
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A", `malformed metric "A"`},
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:", `malformed metric "A:"`},
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/:H", `malformed metric ":H"`},
		{"CVSS:3.1/AV:N:L/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", `malformed metric "AV:N:L"`},
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/AV:L", `duplicate metric "AV"`},
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:P/E:P", `duplicate metric "E"`},
		{"CVSS:3.0/AV:N/AC:L/PR:N/UI:N/C:H/I:H/A:H", `missing mandatory metric "S"`},
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:Z", "invalid metric value"},
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/XX:Y", "invalid metric"},
		{"CVSS:3.1/AV:n/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "invalid metric value"},
		{"AV:N/AC:L/Au:N/C:P/I:P", `missing mandatory metric "A"`},
		{"AV:N/AC:L/Au:N/C:P/I:P/A:P/A:P", `duplicate metric "A"`},
		{"AC:L/AV:N/Au:N/C:P/I:P/A:P", "invalid metric order"},
		{"AV:N/AC:L/Au:N/C:P/I:P/A:P/E:F", "too short vector"},
		{"AV:N/AC:L/Au:N/C:P/I:P/A:X", "invalid metric value"},
		{"(AV:N/AC:L/Au:N/C:P/I:P/A:P)", "invalid"},
		{"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N", `missing mandatory metric "SA"`},
		{"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/SA:N", `duplicate metric "SA"`},
		{"CVSS:4.0/AC:L/AV:N/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", "invalid metric order"},
		{"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/CR:H/E:A", "invalid metric order"},
		{"CVSS:4.0/AV:X/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", "invalid metric value"},
		{"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:S/SA:N", "invalid metric value"},
		{"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/MSC:S", "invalid metric value"},
		{"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/U:red", "invalid metric value"},
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H" + strings.Repeat("/E:X", 50), "duplicate metric"},
		{"CVSS:3.1/" + strings.Repeat("AV:N/", 200) + "A:H", "duplicate metric"},
	} {
		_, err := Parse(tc.vector)
		if err == nil {
			t.Errorf("Parse(%q) succeeded, want error containing %q", tc.vector, tc.want)
			continue
		}
		if !errors.Is(err, ErrInvalidVector) {
			t.Errorf("Parse(%q) error %v does not wrap ErrInvalidVector", tc.vector, err)
		}
		if msg := err.Error(); !strings.HasPrefix(msg, "cvss: ") || !strings.Contains(msg, tc.want) {
			t.Errorf("Parse(%q) error %q, want prefix \"cvss: \" and %q", tc.vector, msg, tc.want)
		}
	}
}

func TestParseErrorMessageIsBounded(t *testing.T) {
	long := "CVSS:3.1/" + strings.Repeat("X", 10000)
	_, err := Parse(long)
	if err == nil || len(err.Error()) > 300 {
		t.Fatalf("error for a 10 kB vector: %v", err)
	}
}

func TestSeverityFor(t *testing.T) {
	// Rating scales: CVSS v2.0 as used by NVD (Low 0.0-3.9, Medium 4.0-6.9,
	// High 7.0-10.0); CVSS v3.1 specification section 5 and v4.0
	// specification section 6 (None 0.0, Low 0.1-3.9, Medium 4.0-6.9,
	// High 7.0-8.9, Critical 9.0-10.0).
	for _, tc := range []struct {
		v    Version
		base float64
		want string
	}{
		{V2, 0, "LOW"}, {V2, 3.9, "LOW"}, {V2, 4.0, "MEDIUM"}, {V2, 6.9, "MEDIUM"}, {V2, 7.0, "HIGH"}, {V2, 10, "HIGH"},
		{V30, 0, "NONE"}, {V30, 0.1, "LOW"}, {V30, 3.9, "LOW"}, {V30, 4.0, "MEDIUM"}, {V30, 6.9, "MEDIUM"},
		{V31, 7.0, "HIGH"}, {V31, 8.9, "HIGH"}, {V31, 9.0, "CRITICAL"}, {V31, 10, "CRITICAL"},
		{V40, 0, "NONE"}, {V40, 0.1, "LOW"}, {V40, 4.0, "MEDIUM"}, {V40, 7.0, "HIGH"}, {V40, 9.0, "CRITICAL"},
		{V31, -0.1, ""}, {V31, 10.1, ""}, {V2, 11, ""}, {"5.0", 5, ""}, {"", 5, ""},
	} {
		if got := SeverityFor(tc.v, tc.base); got != tc.want {
			t.Errorf("SeverityFor(%q, %v) = %q, want %q", tc.v, tc.base, got, tc.want)
		}
	}
}
