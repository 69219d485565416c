package version

import (
	"errors"
	"regexp"
	"strings"

	"golang.org/x/mod/semver"
)

// newGo compares Go module versions with golang.org/x/mod/semver, the
// ordering the go command uses. OSV writes them without the "v" (1.2.3,
// 0.0.0-20210101000000-abcdef123456, 2.0.0+incompatible); "v1.2.3" is
// accepted too. For the standard library and toolchain OSV uses semver as
// well (1.21.3, and 1.22.0-0 as "before every 1.22.0 pre-release"); Go's own
// tag spellings are translated as golang.org/x/vuln does:
// go1.21.3 -> 1.21.3, 1.21rc2 / go1.21rc2 -> 1.21.0-rc.2, go1.9beta1 ->
// 1.9.0-beta.1. Like the go command, x/mod/semver reads "1" and "1.2" as
// 1.0.0 and 1.2.0 (so the language version go1.21 equals 1.21.0 here,
// although go/version sorts it before 1.21rc1).
func newGo() Comparer {
	return &comparer[string]{
		name:  "Go",
		parse: parseGo,
		cmp:   semver.Compare,
	}
}

// goTag is a Go toolchain pre-release tag without its "go" prefix
// (1.21rc2, 1.9.2rc2, 1.20beta1), which is not semver.
var goTag = regexp.MustCompile(`^([0-9]+)(?:\.([0-9]+))?(?:\.([0-9]+))?(beta|rc)([0-9]+)$`)

func parseGo(v string) (string, error) {
	s, isGoTag := strings.CutPrefix(v, "go")
	if !isGoTag {
		s = strings.TrimPrefix(v, "v")
	}
	if m := goTag.FindStringSubmatch(s); m != nil {
		s = m[1] + "." + orZero(m[2]) + "." + orZero(m[3]) + "-" + m[4] + "." + m[5]
	}
	sv := "v" + s
	if !semver.IsValid(sv) {
		return "", errors.New("not a Go module version (semver: 1.2.3[-pre][+build]) or Go release tag (go1.21.3, go1.21rc2)")
	}
	return sv, nil
}

func orZero(s string) string {
	if s == "" {
		return "0"
	}
	return s
}
