package version

import (
	"errors"
	"sort"
	"strings"
	"testing"
)

// fuzzCompare checks, for each comparer and arbitrary a, b, c: no panic
// (a recovered library panic fails too), Valid agrees with Compare's error,
// errors are "version: ..." and wrap ErrInvalidVersion, results are -1/0/+1,
// Compare is reflexive and antisymmetric, and the order is transitive.
func fuzzCompare(f *testing.F, names ...string) {
	comps := make([]Comparer, len(names))
	var seeds []string
	for i, name := range names {
		c, err := comparerFor(name)
		if err != nil {
			f.Fatal(err)
		}
		comps[i] = c
		tc := cases[name]
		for _, chain := range tc.chains {
			seeds = append(seeds, chain...)
		}
		for _, p := range tc.equal {
			seeds = append(seeds, p[0], p[1])
		}
		seeds = append(seeds, tc.invalid...)
	}
	for i, s := range seeds {
		f.Add(s, seeds[(i+1)%len(seeds)], seeds[(i+7)%len(seeds)])
	}
	f.Fuzz(func(t *testing.T, a, b, c string) {
		for i, comp := range comps {
			checkProperties(t, names[i], comp, a, b, c)
		}
	})
}

func checkProperties(t *testing.T, name string, c Comparer, a, b, d string) {
	valid := func(v string) bool {
		ok := c.Valid(v)
		_, err := c.Compare(v, v)
		if ok != (err == nil) {
			t.Fatalf("%s: Valid(%q) = %v but Compare(v, v) error = %v", name, v, ok, err)
		}
		if err != nil {
			checkError(t, name, err)
		}
		return ok
	}
	cmp := func(x, y string) int {
		r, err := c.Compare(x, y)
		if err != nil {
			t.Fatalf("%s: Compare(%q, %q) of valid versions: %v", name, x, y, err)
		}
		if r < -1 || r > 1 {
			t.Fatalf("%s: Compare(%q, %q) = %d", name, x, y, r)
		}
		return r
	}
	va, vb, vd := valid(a), valid(b), valid(d)
	if !va || !vb {
		if _, err := c.Compare(a, b); err == nil {
			t.Fatalf("%s: Compare(%q, %q) of an invalid version succeeded", name, a, b)
		} else {
			checkError(t, name, err)
		}
	}
	var vs []string
	for _, v := range []struct {
		s  string
		ok bool
	}{{a, va}, {b, vb}, {d, vd}} {
		if v.ok {
			vs = append(vs, v.s)
		}
	}
	for _, x := range vs {
		if r := cmp(x, x); r != 0 {
			t.Fatalf("%s: Compare(%q, %q) = %d, not reflexive", name, x, x, r)
		}
		for _, y := range vs {
			if r, s := cmp(x, y), cmp(y, x); r != -s {
				t.Fatalf("%s: Compare(%q, %q) = %d but Compare(%q, %q) = %d", name, x, y, r, y, x, s)
			}
		}
	}
	if len(vs) == 3 && notTransitive[name] == "" {
		// Sorted, x <= y <= z must give x <= z (and x == z when both are ==).
		sort.Slice(vs, func(i, j int) bool { return cmp(vs[i], vs[j]) < 0 })
		x, y, z := vs[0], vs[1], vs[2]
		xy, yz, xz := cmp(x, y), cmp(y, z), cmp(x, z)
		if xy > 0 || yz > 0 || xz > 0 || (xy == 0 && yz == 0 && xz != 0) || (xz == 0 && (xy != 0 || yz != 0)) {
			t.Fatalf("%s: not transitive: %q ? %q = %d, %q ? %q = %d, %q ? %q = %d", name, x, y, xy, y, z, yz, x, z, xz)
		}
	}
}

// notTransitive lists the orderings that are not total orders on odd
// input, as the ecosystem defines them: transitivity is not checked there.
var notTransitive = map[string]string{
	// Maven's ComparableVersion (which go-mvn-version ports) puts a
	// "-"-sublist above a "."-qualifier but below the release for some
	// inputs: 1.0.0-rc1 < 1.0.0 < 1.x-dev, yet 1.0.0-rc1 > 1.x-dev.
	"Maven": "ComparableVersion is not transitive",
}

func checkError(t *testing.T, name string, err error) {
	t.Helper()
	if errors.Is(err, errPanic) {
		t.Fatalf("%s: %v", name, err)
	}
	if !errors.Is(err, ErrInvalidVersion) || !strings.HasPrefix(err.Error(), "version: ") {
		t.Fatalf("%s: error %q: want a \"version: \" error wrapping ErrInvalidVersion", name, err)
	}
}

// FuzzCompare checks every comparer on the same inputs.
func FuzzCompare(f *testing.F) {
	names := make([]string, 0, len(cases))
	for name := range cases {
		names = append(names, name)
	}
	sort.Strings(names)
	fuzzCompare(f, names...)
}

// One target per comparer, to fuzz one ecosystem at a time
// (go test -fuzz '^FuzzCompareDebian$').

func FuzzCompareDebian(f *testing.F)    { fuzzCompare(f, "Debian") }
func FuzzCompareAlpine(f *testing.F)    { fuzzCompare(f, "Alpine") }
func FuzzCompareRPM(f *testing.F)       { fuzzCompare(f, "Red Hat") }
func FuzzCompareGo(f *testing.F)        { fuzzCompare(f, "Go") }
func FuzzCompareSemVer(f *testing.F)    { fuzzCompare(f, "SEMVER") }
func FuzzCompareNPM(f *testing.F)       { fuzzCompare(f, "npm") }
func FuzzCompareCrates(f *testing.F)    { fuzzCompare(f, "crates.io") }
func FuzzComparePyPI(f *testing.F)      { fuzzCompare(f, "PyPI") }
func FuzzCompareMaven(f *testing.F)     { fuzzCompare(f, "Maven") }
func FuzzCompareRubyGems(f *testing.F)  { fuzzCompare(f, "RubyGems") }
func FuzzComparePackagist(f *testing.F) { fuzzCompare(f, "Packagist") }
func FuzzCompareNuGet(f *testing.F)     { fuzzCompare(f, "NuGet") }
