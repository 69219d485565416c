package version

import (
	"errors"
	"regexp"
	"strings"

	"github.com/google/osv-scalibr/semantic"
)

// newPackagist compares Composer versions the way Composer does: both are
// normalized by Composer's VersionParser::normalize rules (ported below:
// v1.2 -> 1.2.0.0, 1.0-b2 -> 1.0.0.0-beta2, 1.0.0-p1 -> 1.0.0.0-patch1,
// 1.0-stable -> 1.0.0.0, 20100102 date versions) and then ordered by PHP's
// version_compare, as implemented in github.com/google/osv-scalibr/semantic
// (OSV-Scanner's Packagist ordering): dev < alpha = a < beta = b < RC = rc <
// release < patch = pl = p.
//
// Branch names (dev-master, 1.x-dev) are not versions and are rejected, as
// are aliases ("1.0 as 2.0") and #commit references.
//
// The normalization is ours because no Go library does it faithfully: the
// only port (github.com/mcuadros/go-version) is refused by the module proxy
// at its latest version and, in the last one available, limits the major
// version to three digits and sorts "patch" below "alpha";
// github.com/aquasecurity/go-version is not Composer-aware (1.0.0-dev sorts
// after 1.0.0-alpha, 1.0.0-p1 before 1.0.0).
func newPackagist() Comparer {
	return &comparer[semantic.PackagistVersion]{
		name:  "Packagist",
		parse: parsePackagist,
		cmp: func(a, b semantic.PackagistVersion) int {
			r, err := a.Compare(b)
			if err != nil { // only for versions of another ecosystem
				panic(err)
			}
			return r
		},
	}
}

// Composer 2's VersionParser patterns (possessive quantifiers made greedy:
// RE2 has none, and no version matches differently without them).
const composerModifier = `[._-]?(?:(stable|beta|b|RC|alpha|a|patch|pl|p)((?:[.-]?\d+)*)?)?([.-]?dev)?`

var (
	composerClassical = regexp.MustCompile(`(?i)^v?(\d{1,5})(\.\d+)?(\.\d+)?(\.\d+)?` + composerModifier + `$`)
	composerDate      = regexp.MustCompile(`(?i)^v?(\d{4}(?:[.:-]?\d{2}){1,6}(?:[.:-]?\d{1,3}){0,2})` + composerModifier + `$`)
	nonDigit          = regexp.MustCompile(`\D`)
)

func parsePackagist(v string) (semantic.PackagistVersion, error) {
	n, err := normalizeComposer(v)
	if err != nil {
		return semantic.PackagistVersion{}, err
	}
	return semantic.ParsePackagistVersion(n), nil
}

// normalizeComposer is Composer's VersionParser::normalize for versions
// (not branches).
func normalizeComposer(v string) (string, error) {
	var version string
	var mod []string // stability, its numbers, dev
	if m := composerClassical.FindStringSubmatch(v); m != nil {
		version = m[1] + orDotZero(m[2]) + orDotZero(m[3]) + orDotZero(m[4])
		mod = m[5:]
	} else if m := composerDate.FindStringSubmatch(v); m != nil {
		version = nonDigit.ReplaceAllString(m[1], ".")
		mod = m[2:]
	} else {
		return "", errors.New("not a Composer version (1.2.3[-stability[N]][-dev] or a date)")
	}
	if mod[0] != "" {
		if strings.EqualFold(mod[0], "stable") {
			return version, nil
		}
		version += "-" + expandStability(mod[0]) + strings.TrimLeft(mod[1], ".-")
	}
	if mod[2] != "" {
		version += "-dev"
	}
	return version, nil
}

func orDotZero(s string) string {
	if s == "" {
		return ".0"
	}
	return s
}

func expandStability(s string) string {
	switch s = strings.ToLower(s); s {
	case "a":
		return "alpha"
	case "b":
		return "beta"
	case "p", "pl":
		return "patch"
	case "rc":
		return "RC"
	}
	return s
}
