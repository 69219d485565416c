// Package version compares package versions the way each OSV ecosystem
// orders them, for matching packages against OSV records
// (https://ossf.github.io/osv-schema/): ECOSYSTEM ranges compare with the
// ecosystem's own ordering (For), SEMVER ranges with SemVer 2.0 (SemVer).
//
// Every comparer is strict: a version the ecosystem cannot parse is an error
// wrapping ErrInvalidVersion, never a guess, so a matcher can report the
// package instead of silently deciding "not affected". Versions are
// untrusted input (they come from images): they are limited to MaxLen bytes
// of printable ASCII, numbers a library would silently overflow are
// rejected, and a panic inside a library becomes an error.
//
// OSV's `introduced: "0"` is a sentinel meaning "from the very first
// version", not a version: it sorts below every version, pre-releases such as
// Go's 0.0.0-2021… pseudo-versions included. Matchers handle it before
// calling Compare; the comparers give "0" its ecosystem meaning (0, 0.0.0 in
// Go) or reject it (npm, crates.io, SEMVER, which need three components).
package version

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Comparer compares versions of one ecosystem.
type Comparer interface {
	// Compare returns -1, 0, +1. Errors for versions the ecosystem cannot parse.
	Compare(a, b string) (int, error)
	// Valid reports whether v parses.
	Valid(v string) bool
}

var (
	// ErrUnknownEcosystem is wrapped by For's error for ecosystems it does not know.
	ErrUnknownEcosystem = errors.New("version: unknown ecosystem")
	// ErrInvalidVersion is wrapped by Compare's error for versions the
	// ecosystem cannot parse.
	ErrInvalidVersion = errors.New("version: invalid version")
)

// MaxLen is the longest version string a comparer accepts, in bytes; real
// versions are far shorter.
const MaxLen = 256

// SemVer is the comparer for OSV "SEMVER" ranges: strict SemVer 2.0
// precedence (build metadata ignored), with an optional leading "v".
var SemVer Comparer = newSemVer("SEMVER", true)

// comparers maps OSV base ecosystem names (no ":release" suffix) to comparers.
var comparers = map[string]Comparer{}

func register(c Comparer, names ...string) {
	for _, n := range names {
		if _, dup := comparers[n]; dup {
			panic("version: ecosystem registered twice: " + n)
		}
		comparers[n] = c
	}
}

func init() {
	register(newDebian("Debian"), "Debian")
	register(newDebian("Ubuntu"), "Ubuntu")
	// Wolfi and Chainguard use apk versions too (OSV schema).
	for _, n := range []string{"Alpine", "Wolfi", "Chainguard"} {
		register(newAlpine(n), n)
	}
	for _, n := range []string{
		"Red Hat", "Rocky Linux", "AlmaLinux", "openSUSE", "SUSE", "Mageia",
		"Photon OS", "RPM", "CentOS", "Fedora", "Oracle Linux", "Amazon Linux",
		"openEuler",
	} {
		register(newRPM(n), n)
	}
	register(newGo(), "Go")
	register(newSemVer("npm", true), "npm")
	register(newSemVer("crates.io", false), "crates.io")
	register(newPyPI(), "PyPI")
	register(newMaven(), "Maven")
	register(newRubyGems(), "RubyGems")
	register(newPackagist(), "Packagist")
	register(newNuGet(), "NuGet")
}

// For returns the comparer for an OSV ecosystem name. Distro ecosystems
// carry a release suffix ("Debian:12", "Alpine:v3.10", "Ubuntu:22.04:LTS"):
// the part before the first ':' picks the comparer. Names are case-sensitive,
// as in OSV. Unknown ecosystems return an error wrapping ErrUnknownEcosystem.
func For(ecosystem string) (Comparer, error) {
	base, _ := ParseEcosystem(ecosystem)
	if c, ok := comparers[base]; ok {
		return c, nil
	}
	return nil, fmt.Errorf("%w %.64q", ErrUnknownEcosystem, ecosystem)
}

// ParseEcosystem splits an OSV ecosystem name at its first ':' into the base
// ecosystem and the release: "Alpine:v3.10" -> ("Alpine", "v3.10"),
// "Ubuntu:22.04:LTS" -> ("Ubuntu", "22.04:LTS"), "npm" -> ("npm", "").
func ParseEcosystem(s string) (base, release string) {
	base, release, _ = strings.Cut(s, ":")
	return base, release
}

// Ecosystems returns the base ecosystem names For knows, sorted.
func Ecosystems() []string {
	names := make([]string, 0, len(comparers))
	for n := range comparers {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// comparer adapts one ecosystem's parse and compare functions to Comparer,
// adding the checks and guards every ecosystem shares.
type comparer[T any] struct {
	name string
	// parse returns the parsed version or the reason it is invalid (without
	// any prefix: comparer adds the ecosystem and the version).
	parse func(string) (T, error)
	// cmp orders two parsed versions: <0, 0, >0.
	cmp func(a, b T) int
}

// errPanic marks errors made from a library's panic; the fuzz tests fail on
// it, since every panic should be prevented by validation, not recovered.
var errPanic = errors.New("library panic")

func (c *comparer[T]) Valid(v string) bool {
	_, err := c.parseVersion(v)
	return err == nil
}

func (c *comparer[T]) Compare(a, b string) (int, error) {
	pa, err := c.parseVersion(a)
	if err != nil {
		return 0, err
	}
	pb, err := c.parseVersion(b)
	if err != nil {
		return 0, err
	}
	return c.compareParsed(a, b, pa, pb)
}

func (c *comparer[T]) compareParsed(a, b string, pa, pb T) (r int, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("version: %s: comparing %.64q with %.64q: %w: %v", c.name, a, b, errPanic, p)
		}
	}()
	return sign(c.cmp(pa, pb)), nil
}

func (c *comparer[T]) parseVersion(v string) (p T, err error) {
	if err := checkChars(v); err != nil {
		return p, c.invalid(v, err)
	}
	defer func() {
		if r := recover(); r != nil {
			err = c.invalid(v, fmt.Errorf("%w: %v", errPanic, r))
		}
	}()
	p, err = c.parse(v)
	if err != nil {
		return p, c.invalid(v, err)
	}
	return p, nil
}

func (c *comparer[T]) invalid(v string, reason error) error {
	return fmt.Errorf("%w: %s %.64q: %w", ErrInvalidVersion, c.name, v, reason)
}

// checkChars enforces what every ecosystem shares: non-empty, at most MaxLen
// bytes, printable ASCII without spaces. No ecosystem's versions go beyond
// that, and libraries that index bytes as runes (or lower-case in place)
// misbehave on anything else.
func checkChars(v string) error {
	if v == "" {
		return errors.New("empty")
	}
	if len(v) > MaxLen {
		return fmt.Errorf("longer than %d bytes", MaxLen)
	}
	for i := 0; i < len(v); i++ {
		if b := v[i]; b <= ' ' || b >= 0x7f {
			return fmt.Errorf("byte %#02x at offset %d is not printable ASCII", b, i)
		}
	}
	return nil
}

// maxDigits is the longest run of significant digits that fits an int64
// whatever the digits: libraries that parse numbers into machine integers
// would otherwise overflow (or clamp) silently and misorder versions.
const maxDigits = 18

// checkDigitRuns rejects runs of ASCII digits longer than maxDigits once
// their leading zeros are dropped.
func checkDigitRuns(v string) error {
	for i := 0; i < len(v); {
		if !isDigit(v[i]) {
			i++
			continue
		}
		j := i
		for j < len(v) && v[j] == '0' {
			j++
		}
		k := j
		for k < len(v) && isDigit(v[k]) {
			k++
		}
		if k-j > maxDigits {
			return fmt.Errorf("number %.24s… has more than %d digits", v[j:k], maxDigits)
		}
		i = k
	}
	return nil
}

func isDigit(b byte) bool { return '0' <= b && b <= '9' }

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return s != ""
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}
