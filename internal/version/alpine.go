package version

import (
	"errors"
	"regexp"

	apkversion "github.com/knqyf263/go-apk-version"
)

// newAlpine compares apk versions with github.com/knqyf263/go-apk-version,
// a port of apk-tools' version.c: pre-release suffixes (_alpha, _beta,
// _pre, _rc) sort before the release, post-release ones (_cvs, _svn, _git,
// _hg, _p) after it, -rN revisions last: 1.2.3_rc1 < 1.2.3 < 1.2.3-r1 <
// 1.2.3_p1.
func newAlpine(name string) Comparer {
	return &comparer[apkversion.Version]{
		name:  name,
		parse: parseAlpine,
		cmp:   func(a, b apkversion.Version) int { return a.Compare(b) },
	}
}

// apkVersion is the apk version grammar (apk-tools' version.c, as in
// APKBUILD pkgver-rpkgrel). The library's own check is looser: it takes
// any character after '-' as the "r" of a revision (1.2.3-1), an empty
// number (1..2) and several revisions (1.2.3-r1-r2).
var apkVersion = regexp.MustCompile(`^[0-9]+(?:\.[0-9]+)*[a-z]?(?:_(?:alpha|beta|pre|rc|cvs|svn|git|hg|p)[0-9]*)*(?:-r[0-9]+)?$`)

func parseAlpine(v string) (apkversion.Version, error) {
	if !apkVersion.MatchString(v) {
		return "", errors.New("not an apk version (1.2.3[a][_suffix[N]]...[-rN])")
	}
	// The library accumulates digit runs in an int without overflow checks.
	if err := checkDigitRuns(v); err != nil {
		return "", err
	}
	if !apkversion.Valid(v) {
		return "", errors.New("not an apk version")
	}
	return apkversion.Version(v), nil
}
