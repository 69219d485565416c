package version

import (
	"strings"

	pep440 "github.com/aquasecurity/go-pep440-version"
)

// newPyPI compares PEP 440 versions with github.com/aquasecurity/go-pep440-version:
// epoch (1!2.0), release, pre (a/b/rc and their spellings), post, dev and
// local (+ubuntu1) parts, normalized the way pypa/packaging does:
// 1.0.dev1 < 1.0a1 < 1.0 < 1.0+local < 1.0.post1; 1.0 == 1.0.0.
func newPyPI() Comparer {
	return &comparer[pep440.Version]{
		name:  "PyPI",
		parse: parsePyPI,
		cmp:   func(a, b pep440.Version) int { return a.Compare(b) },
	}
}

// localSeparators normalizes the separators of a local version label.
var localSeparators = strings.NewReplacer("-", ".", "_", ".")

func parsePyPI(v string) (pep440.Version, error) {
	// PEP 440 normalizes '-' and '_' in a local label to '.'; the library
	// splits the label at '.' only, so 1.0+2-346 would compare "2-346" as
	// text instead of the numbers 2 and 346.
	if public, local, ok := strings.Cut(v, "+"); ok {
		v = public + "+" + localSeparators.Replace(local)
	}
	return pep440.Parse(v)
}
