package version

import (
	"errors"
	"strings"

	debversion "github.com/knqyf263/go-deb-version"
)

// newDebian compares dpkg versions ([epoch:]upstream[-revision], deb-version(5))
// with github.com/knqyf263/go-deb-version: '~' sorts before everything,
// even the end of the string ("1.0~rc1" < "1.0"), letters before other
// symbols, digit runs numerically.
func newDebian(name string) Comparer {
	return &comparer[debversion.Version]{
		name:  name,
		parse: parseDebian,
		cmp:   func(a, b debversion.Version) int { return a.Compare(b) },
	}
}

func parseDebian(v string) (debversion.Version, error) {
	// The library reads the epoch with strconv.Atoi, which takes "+1" and
	// "-0"; dpkg wants digits.
	if epoch, _, ok := strings.Cut(v, ":"); ok && !allDigits(epoch) {
		return debversion.Version{}, errors.New("epoch is not a number")
	}
	// The library allows '_', which dpkg calls bad syntax.
	if strings.IndexByte(v, '_') >= 0 {
		return debversion.Version{}, errors.New("invalid character '_'")
	}
	// The library takes "1.0-" as an empty revision; dpkg rejects it.
	if v[len(v)-1] == '-' {
		return debversion.Version{}, errors.New("revision is empty")
	}
	// The library parses digit runs with strconv.Atoi, which clamps at
	// MaxInt64: longer numbers would compare equal.
	if err := checkDigitRuns(v); err != nil {
		return debversion.Version{}, err
	}
	return debversion.NewVersion(v)
}
