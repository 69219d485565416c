package version

import (
	"errors"
	"strings"

	mvn "github.com/masahiro331/go-mvn-version"
)

// newMaven compares Maven versions with github.com/masahiro331/go-mvn-version,
// a port of Maven's ComparableVersion: qualifiers order
// alpha < beta < milestone < rc < snapshot < "" (= ga = final = release) < sp,
// other qualifiers after them alphabetically; 1.0-SNAPSHOT < 1.0 ==
// 1.0.RELEASE == 1.0.0. Maven accepts any string as a version; this
// comparer takes any printable ASCII string without numbers longer than 18
// digits (the library clamps numbers to int, where Maven uses BigInteger).
func newMaven() Comparer {
	return &comparer[mvn.Version]{
		name: "Maven",
		parse: func(v string) (mvn.Version, error) {
			if err := checkDigitRuns(v); err != nil {
				return mvn.Version{}, err
			}
			// The library drops the last "-" sublist of a version ending
			// in a separator (1-foo. == 1); in Maven trailing separators
			// only add null items, which normalization removes.
			t := strings.TrimRight(v, ".-")
			if t == "" {
				return mvn.Version{}, errors.New("no version components")
			}
			return mvn.NewVersion(t)
		},
		cmp: func(a, b mvn.Version) int { return a.Compare(b) },
	}
}
