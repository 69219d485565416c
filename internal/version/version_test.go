package version

import (
	"errors"
	"strings"
	"sync"
	"testing"

	rpmversion "github.com/knqyf263/go-rpm-version"
)

func TestCompare(t *testing.T) {
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c, err := comparerFor(name)
			if err != nil {
				t.Fatal(err)
			}
			for _, chain := range tc.chains {
				for i, a := range chain {
					if !c.Valid(a) {
						_, err := c.Compare(a, a)
						t.Errorf("Valid(%q) = false: %v", a, err)
						continue
					}
					wantCompare(t, c, a, a, 0)
					for _, b := range chain[i+1:] {
						wantCompare(t, c, a, b, -1)
						wantCompare(t, c, b, a, +1)
					}
				}
			}
			for _, p := range tc.equal {
				wantCompare(t, c, p[0], p[1], 0)
				wantCompare(t, c, p[1], p[0], 0)
			}
			for _, v := range tc.invalid {
				if c.Valid(v) {
					t.Errorf("Valid(%q) = true, want false", v)
				}
				for _, pair := range [][2]string{{v, tc.bench[0]}, {tc.bench[0], v}} {
					r, err := c.Compare(pair[0], pair[1])
					if err == nil {
						t.Errorf("Compare(%q, %q) = %d, want an error", pair[0], pair[1], r)
						continue
					}
					wantInvalidError(t, err)
				}
			}
			wantCompare(t, c, tc.bench[0], tc.bench[1], -1)
		})
	}
}

func wantCompare(t *testing.T, c Comparer, a, b string, want int) {
	t.Helper()
	got, err := c.Compare(a, b)
	if err != nil {
		t.Errorf("Compare(%q, %q): %v", a, b, err)
		return
	}
	if got != want {
		t.Errorf("Compare(%q, %q) = %d, want %d", a, b, got, want)
	}
}

func wantInvalidError(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, ErrInvalidVersion) {
		t.Errorf("error %q does not wrap ErrInvalidVersion", err)
	}
	if !strings.HasPrefix(err.Error(), "version: ") {
		t.Errorf("error %q lacks the package prefix", err)
	}
	if errors.Is(err, errPanic) {
		t.Errorf("library panic: %v", err)
	}
}

func TestInvalidErrorMessage(t *testing.T) {
	c, err := For("Debian:12")
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Compare("1.0", "a1.0")
	const want = `version: invalid version: Debian "a1.0": upstream_version must start with digit`
	if err == nil || err.Error() != want {
		t.Errorf("error = %v, want %s", err, want)
	}
	_, err = c.Compare(strings.Repeat("1", MaxLen+1), "1.0")
	if err == nil || !strings.Contains(err.Error(), "longer than 256 bytes") {
		t.Errorf("too long: error = %v", err)
	}
	if _, err = c.Compare("1.0\x00", "1.0"); err == nil || !strings.Contains(err.Error(), "byte 0x00 at offset 3") {
		t.Errorf("NUL: error = %v", err)
	}
}

func TestFor(t *testing.T) {
	same := func(a, b string) {
		t.Helper()
		ca, err := For(a)
		if err != nil {
			t.Fatalf("For(%q): %v", a, err)
		}
		cb, err := For(b)
		if err != nil {
			t.Fatalf("For(%q): %v", b, err)
		}
		if ca != cb {
			t.Errorf("For(%q) and For(%q) differ", a, b)
		}
	}
	same("Debian:12", "Debian")
	same("Debian:13:", "Debian")
	same("Alpine:v3.10", "Alpine")
	same("Ubuntu:22.04:LTS", "Ubuntu")
	same("Ubuntu:Pro:18.04:LTS", "Ubuntu")
	same("Red Hat:enterprise_linux:8::appstream", "Red Hat")
	same("Rocky Linux:8", "Rocky Linux")
	same("openSUSE:Leap 15.5", "openSUSE")
	same("SUSE:Linux Enterprise Server 15 SP5", "SUSE")

	for _, name := range []string{
		"Debian", "Ubuntu", "Alpine", "Red Hat", "Rocky Linux", "AlmaLinux", "openSUSE", "SUSE",
		"Mageia", "Photon OS", "RPM", "CentOS", "Fedora", "Oracle Linux", "Amazon Linux",
		"Go", "npm", "PyPI", "Maven", "RubyGems", "crates.io", "Packagist", "NuGet",
	} {
		if _, err := For(name); err != nil {
			t.Errorf("For(%q): %v", name, err)
		}
	}

	for _, name := range []string{"", "pypi", "NPM", "debian", "Hackage", ":12", " Debian", "SEMVER"} {
		c, err := For(name)
		if err == nil || c != nil {
			t.Errorf("For(%q) = %v, %v; want an error", name, c, err)
			continue
		}
		if !errors.Is(err, ErrUnknownEcosystem) || !strings.HasPrefix(err.Error(), "version: unknown ecosystem") {
			t.Errorf("For(%q): error %q does not wrap ErrUnknownEcosystem", name, err)
		}
	}

	// Debian and Ubuntu share the ordering but name themselves in errors.
	u, _ := For("Ubuntu:22.04:LTS")
	if _, err := u.Compare("x", "1"); err == nil || !strings.Contains(err.Error(), "Ubuntu") {
		t.Errorf("Ubuntu error = %v", err)
	}

	// Every registered ecosystem has cases, or shares a comparer with one that has.
	for _, name := range Ecosystems() {
		if _, ok := cases[name]; ok {
			continue
		}
		switch name {
		case "Ubuntu", "Wolfi", "Chainguard":
		default:
			if _, rpm := comparers[name].(*comparer[rpmversion.Version]); !rpm {
				t.Errorf("ecosystem %q has no test cases", name)
			}
		}
	}
}

func TestParseEcosystem(t *testing.T) {
	for _, tc := range []struct{ in, base, release string }{
		{"Alpine:v3.10", "Alpine", "v3.10"},
		{"Debian:12", "Debian", "12"},
		{"Ubuntu:22.04:LTS", "Ubuntu", "22.04:LTS"},
		{"npm", "npm", ""},
		{"Debian:", "Debian", ""},
		{":12", "", "12"},
		{"", "", ""},
	} {
		base, release := ParseEcosystem(tc.in)
		if base != tc.base || release != tc.release {
			t.Errorf("ParseEcosystem(%q) = %q, %q; want %q, %q", tc.in, base, release, tc.base, tc.release)
		}
	}
}

func TestSemVerIsNotAnEcosystemComparer(t *testing.T) {
	// SemVer takes a "v" and rejects what only ecosystems accept.
	wantCompare(t, SemVer, "v1.2.3", "1.2.3", 0)
	for _, v := range []string{"1.2", "0", "1.2.3.4"} {
		if SemVer.Valid(v) {
			t.Errorf("SemVer.Valid(%q) = true", v)
		}
	}
}

// TestConcurrent: the comparers For returns are shared; run it with -race.
func TestConcurrent(t *testing.T) {
	var wg sync.WaitGroup
	for name, tc := range cases {
		c, err := comparerFor(name)
		if err != nil {
			t.Fatal(err)
		}
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 50 {
					if r, err := c.Compare(tc.bench[0], tc.bench[1]); err != nil || r != -1 {
						t.Errorf("%s: Compare(%q, %q) = %d, %v", name, tc.bench[0], tc.bench[1], r, err)
						return
					}
				}
			}()
		}
	}
	wg.Wait()
}
