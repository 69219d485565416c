package cvss

import (
	"errors"
	"math"
	"testing"
)

func FuzzParse(f *testing.F) {
	for _, tc := range knownScores {
		f.Add(tc.vector)
	}
	for _, tc := range v4Reference {
		f.Add(tc.vector)
	}
	for _, s := range []string{
		"", "CVSS:", "CVSS:3.1/", "CVSS:4.0/AV:N", "AV:N/AC:L/Au:N/C:P/I:P/A:P/E:F/RL:OF/RC:C",
		"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/AV:N", "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/MSI:S/U:Clear",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, vector string) {
		s, err := Parse(vector)
		if err != nil {
			if !errors.Is(err, ErrInvalidVector) {
				t.Fatalf("Parse(%q): error %v does not wrap ErrInvalidVector", vector, err)
			}
			return
		}
		if !(s.Base >= 0 && s.Base <= 10) || math.Round(s.Base*10)/10 != s.Base {
			t.Fatalf("Parse(%q): base %v", vector, s.Base)
		}
		if s.Severity == "" || s.Severity != SeverityFor(s.Version, s.Base) {
			t.Fatalf("Parse(%q): severity %q for %s %v", vector, s.Severity, s.Version, s.Base)
		}
		again, err := Parse(s.Vector)
		if err != nil {
			t.Fatalf("Parse(%q) = %+v, but its Vector does not parse: %v", vector, s, err)
		}
		if again != s {
			t.Fatalf("Parse(%q) = %+v, but Parse(%q) = %+v", vector, s, s.Vector, again)
		}
	})
}

func BenchmarkParse(b *testing.B) {
	for _, bc := range []struct{ name, vector string }{
		{"v2", "AV:N/AC:L/Au:N/C:P/I:P/A:P"},
		{"v3.0", "CVSS:3.0/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H"},
		{"v3.1", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"},
		{"v4.0", "CVSS:4.0/AV:N/AC:L/AT:N/PR:L/UI:A/VC:H/VI:H/VA:H/SC:L/SI:L/SA:N"},
		{"v4.0-BTE", "CVSS:4.0/AV:A/AC:L/AT:P/PR:H/UI:N/VC:H/VI:L/VA:L/SC:L/SI:N/SA:N/E:A/CR:M/MAV:N/MAC:L/MPR:L/MUI:P/MVC:H/MVI:H/MVA:L/MSC:N/MSI:H/MSA:H/S:N/R:A/V:D/RE:L"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Parse(bc.vector); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
