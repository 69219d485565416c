package version

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/Masterminds/semver/v3"
)

// newSemVer compares strict SemVer 2.0 versions with
// github.com/Masterminds/semver/v3 (StrictNewVersion: three numbers without
// leading zeros, dot-separated pre-release and build identifiers). Build
// metadata does not count: 1.0.0+a == 1.0.0+b. allowV accepts one leading
// "v", as node-semver and OSV's SEMVER ranges do; Cargo does not.
//
// npm uses this rather than github.com/aquasecurity/go-npm-version, whose
// parser reads the pre-release identifiers "x", "X" and "*" as wildcards:
// it finds 1.0.0-x equal to 1.0.0 and to 1.0.0-alpha, although
// 1.0.0-alpha < 1.0.0.
func newSemVer(name string, allowV bool) Comparer {
	return &comparer[*semver.Version]{
		name: name,
		parse: func(v string) (*semver.Version, error) {
			return parseSemVer(v, allowV)
		},
		cmp: func(a, b *semver.Version) int { return a.Compare(b) },
	}
}

func parseSemVer(v string, allowV bool) (*semver.Version, error) {
	s := v
	if allowV {
		s = strings.TrimPrefix(v, "v")
	}
	sv, err := semver.StrictNewVersion(s)
	if err != nil {
		return nil, err
	}
	// The library compares numeric pre-release identifiers as uint64 and
	// falls back to comparing bigger ones as text, which misorders them.
	for _, id := range strings.Split(sv.Prerelease(), ".") {
		if allDigits(id) {
			if _, err := strconv.ParseUint(id, 10, 64); err != nil {
				return nil, fmt.Errorf("pre-release number %.24s… does not fit 64 bits", id)
			}
		}
	}
	return sv, nil
}
