package version

import (
	"errors"
	"regexp"
	"strconv"

	"github.com/google/osv-scalibr/semantic"
)

// newNuGet compares NuGet versions with the NuGet ordering of
// github.com/google/osv-scalibr/semantic (OSV-Scanner's), which matches
// NuGet.Versioning's default comparer: up to four numbers (1.2.3.4, missing
// ones are 0: 1.0 == 1.0.0.0), then the pre-release labels (a pre-release
// sorts first; labels compare numerically when both are numbers, otherwise
// as case-insensitive text, numbers first), build metadata ignored.
//
// The library parses anything; validity is NuGet's grammar, checked here:
// 1-4 numbers that fit an int32 (NuGet's limit), -label(.label)* with labels
// of [0-9A-Za-z-], +metadata likewise. No "v" prefix (NuGet rejects it).
func newNuGet() Comparer {
	return &comparer[semantic.NuGetVersion]{
		name:  "NuGet",
		parse: parseNuGet,
		cmp: func(a, b semantic.NuGetVersion) int {
			r, err := a.Compare(b)
			if err != nil { // only for versions of another ecosystem
				panic(err)
			}
			return r
		},
	}
}

var nugetVersion = regexp.MustCompile(`^([0-9]+)(?:\.([0-9]+))?(?:\.([0-9]+))?(?:\.([0-9]+))?` +
	`(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$`)

func parseNuGet(v string) (semantic.NuGetVersion, error) {
	m := nugetVersion.FindStringSubmatch(v)
	if m == nil {
		return semantic.NuGetVersion{}, errors.New("not a NuGet version (1.2.3[.4][-label][+metadata])")
	}
	for _, n := range m[1:5] {
		if n == "" {
			continue
		}
		if _, err := strconv.ParseInt(n, 10, 32); err != nil {
			return semantic.NuGetVersion{}, errors.New("version number does not fit an int32")
		}
	}
	return semantic.ParseNuGetVersion(v), nil
}
