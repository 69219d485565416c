package version

import (
	"errors"
	"regexp"
	"strconv"

	rpmversion "github.com/knqyf263/go-rpm-version"
)

// newRPM compares RPM [epoch:]version[-release] strings with
// github.com/knqyf263/go-rpm-version (rpmvercmp: alphanumeric segments,
// '~' sorts before the end, '^' after it; a missing epoch is 0).
func newRPM(name string) Comparer {
	return &comparer[rpmversion.Version]{
		name:  name,
		parse: parseRPM,
		cmp:   func(a, b rpmversion.Version) int { return a.Compare(b) },
	}
}

// rpmEVR is [epoch:]version[-release] with the characters rpmbuild allows
// in version and release (alphanumerics and "._+%{}~^"; '-' separates).
var rpmEVR = regexp.MustCompile(`^(?:([0-9]+):)?([A-Za-z0-9._+%{}~^]+)(?:-([A-Za-z0-9._+%{}~^]+))?$`)

func parseRPM(v string) (rpmversion.Version, error) {
	// The library never fails: it reads a bad epoch as 0 and splits at any
	// '-'. Check the grammar first.
	m := rpmEVR.FindStringSubmatch(v)
	if m == nil {
		return rpmversion.Version{}, errors.New("not [epoch:]version[-release]")
	}
	if m[1] != "" {
		if _, err := strconv.ParseUint(m[1], 10, 32); err != nil {
			return rpmversion.Version{}, errors.New("epoch does not fit 32 bits")
		}
	}
	if !hasAlnum(m[2]) {
		return rpmversion.Version{}, errors.New("version has no letter or digit")
	}
	return rpmversion.NewVersion(v), nil
}

func hasAlnum(s string) bool {
	for i := 0; i < len(s); i++ {
		if b := s[i]; isDigit(b) || ('a' <= b && b <= 'z') || ('A' <= b && b <= 'Z') {
			return true
		}
	}
	return false
}
