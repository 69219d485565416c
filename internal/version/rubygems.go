package version

import (
	"errors"
	"regexp"
	"strings"

	"github.com/google/osv-scalibr/semantic"
)

// newRubyGems compares RubyGems versions (Gem::Version) with the RubyGems
// ordering of github.com/google/osv-scalibr/semantic (what OSV-Scanner
// uses): segments are runs of digits (compared as numbers) or letters
// (compared as text); a letter segment marks a pre-release, so
// 1.0.a < 1.0.alpha < 1.0.b < 1.0.rc1 < 1.0 == 1.0.0.
//
// The input is first put in the form Gem::Version itself compares: checked
// against Gem::Version's pattern, '-' rewritten to ".pre." and split into
// digit and letter runs, numbers without leading zeros. This fills gaps in
// the library, which does not rewrite '-' and keeps "00" as a non-zero
// segment.
//
// Not github.com/aquasecurity/go-gem-version: it splits letter runs into
// single letters, so 1.0.alpha < 1.0.a and 1.0.0.preview1 < 1.0.0.pre1,
// where RubyGems orders both the other way.
func newRubyGems() Comparer {
	return &comparer[semantic.RubyGemsVersion]{
		name:  "RubyGems",
		parse: parseRubyGems,
		cmp: func(a, b semantic.RubyGemsVersion) int {
			r, err := a.Compare(b)
			if err != nil { // only for versions of another ecosystem
				panic(err)
			}
			return r
		},
	}
}

var (
	// gemVersion is Gem::Version::ANCHORED_VERSION_PATTERN without the
	// surrounding whitespace (rejected before) and the empty version.
	gemVersion = regexp.MustCompile(`^[0-9]+(?:\.[0-9a-zA-Z]+)*(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$`)
	// gemSegment is how Gem::Version splits a version into segments.
	gemSegment = regexp.MustCompile(`[0-9]+|[a-zA-Z]+`)
)

func parseRubyGems(v string) (semantic.RubyGemsVersion, error) {
	if !gemVersion.MatchString(v) {
		return semantic.RubyGemsVersion{}, errors.New("not a RubyGems version (1.2.3[.pre][-pre])")
	}
	segs := gemSegment.FindAllString(strings.ReplaceAll(v, "-", ".pre."), -1)
	for i, s := range segs {
		if isDigit(s[0]) {
			if s = strings.TrimLeft(s, "0"); s == "" {
				s = "0"
			}
			segs[i] = s
		}
	}
	return semantic.ParseRubyGemsVersion(strings.Join(segs, ".")), nil
}
