// Package cvss validates CVSS vector strings (versions 2.0, 3.0, 3.1 and
// 4.0) and computes their base scores and qualitative severity ratings.
//
// Parsing and the v2/v3 formulas come from github.com/pandatix/go-cvss.
// The v4.0 score is computed by this package (see v4.go): go-cvss v0.6.4
// predates the 2024-11-01 rounding fix of the FIRST/Red Hat reference
// calculator and scores 450 of the 104,976 base vectors 0.1 lower than it.
package cvss

import (
	"errors"
	"fmt"
	"strings"

	gocvss20 "github.com/pandatix/go-cvss/20"
	gocvss30 "github.com/pandatix/go-cvss/30"
	gocvss31 "github.com/pandatix/go-cvss/31"
	gocvss40 "github.com/pandatix/go-cvss/40"
)

// Version is a CVSS specification version.
type Version string

// Supported versions.
const (
	V2  Version = "2.0"
	V30 Version = "3.0"
	V31 Version = "3.1"
	V40 Version = "4.0"
)

// Qualitative severity ratings returned by SeverityFor.
const (
	SeverityNone     = "NONE"
	SeverityLow      = "LOW"
	SeverityMedium   = "MEDIUM"
	SeverityHigh     = "HIGH"
	SeverityCritical = "CRITICAL"
)

// ErrInvalidVector is wrapped by every error Parse returns.
var ErrInvalidVector = errors.New("cvss: invalid vector")

// Score is a parsed vector with its base score.
type Score struct {
	Version Version
	// Vector is the canonical form of the parsed vector: metrics in
	// specification order, metrics set to "not defined" (X, ND) dropped.
	// Parsing it again yields the same Score.
	Vector string
	// Base is the base score, 0.0 to 10.0 with one decimal. Threat,
	// temporal, environmental and supplemental metrics are validated and
	// kept in Vector but do not contribute: for v4.0 this is the CVSS-B
	// score.
	Base float64
	// Severity is SeverityFor(Version, Base).
	Severity string
}

// mandatory lists the base metrics each version requires.
var mandatory = map[Version][]string{
	V2:  {"AV", "AC", "Au", "C", "I", "A"},
	V30: {"AV", "AC", "PR", "UI", "S", "C", "I", "A"},
	V31: {"AV", "AC", "PR", "UI", "S", "C", "I", "A"},
	V40: {"AV", "AC", "AT", "PR", "UI", "VC", "VI", "VA", "SC", "SI", "SA"},
}

// maxMetrics bounds the number of metrics in a vector; the longest valid
// vector (v4.0 with every optional metric) has 32.
const maxMetrics = 40

// Parse validates vector and computes its base score.
//
// A vector starting with "CVSS:3.0/", "CVSS:3.1/" or "CVSS:4.0/" is parsed
// with that version; a vector without a "CVSS:" prefix is parsed as v2
// (e.g. "AV:N/AC:L/Au:N/C:P/I:P/A:P"). The input is not trimmed or
// case-folded. Errors wrap ErrInvalidVector and say whether a metric is
// malformed, duplicated, missing, unknown, has an invalid value or (v2 and
// v4.0, which fix the order) is out of order.
func Parse(vector string) (Score, error) {
	ver, body, err := splitVersion(vector)
	if err != nil {
		return Score{}, err
	}
	if err := checkMetrics(vector, ver, body); err != nil {
		return Score{}, err
	}
	var s Score
	switch ver {
	case V2:
		v, err := gocvss20.ParseVector(vector)
		if err != nil {
			return Score{}, invalid(vector, "%v", err)
		}
		s = Score{Vector: v.Vector(), Base: v.BaseScore()}
	case V30:
		v, err := gocvss30.ParseVector(vector)
		if err != nil {
			return Score{}, invalid(vector, "%v", err)
		}
		s = Score{Vector: v.Vector(), Base: v.BaseScore()}
	case V31:
		v, err := gocvss31.ParseVector(vector)
		if err != nil {
			return Score{}, invalid(vector, "%v", err)
		}
		s = Score{Vector: v.Vector(), Base: v.BaseScore()}
	case V40:
		v, err := gocvss40.ParseVector(vector)
		if err != nil {
			return Score{}, invalid(vector, "%v", err)
		}
		var m v4Metrics
		m.reset()
		for i, name := range v4Names[:v4NumBase] {
			val, err := v.Get(name)
			if err != nil || len(val) != 1 {
				return Score{}, invalid(vector, "metric %q: %v", name, err)
			}
			m[i] = val[0]
		}
		s = Score{Vector: v.Vector(), Base: m.score()}
	}
	s.Version = ver
	s.Severity = SeverityFor(ver, s.Base)
	return s, nil
}

// SeverityFor maps a base score to the qualitative rating of version v:
// for v2 LOW (0.0-3.9), MEDIUM (4.0-6.9), HIGH (7.0-10.0); for v3.x and
// v4.0 NONE (0.0), LOW (0.1-3.9), MEDIUM (4.0-6.9), HIGH (7.0-8.9),
// CRITICAL (9.0-10.0). It returns "" for an unknown version or a score
// outside [0, 10].
func SeverityFor(v Version, base float64) string {
	if !(base >= 0 && base <= 10) { // also rejects NaN
		return ""
	}
	switch v {
	case V2:
		switch {
		case base < 4:
			return SeverityLow
		case base < 7:
			return SeverityMedium
		default:
			return SeverityHigh
		}
	case V30, V31, V40:
		switch {
		case base == 0:
			return SeverityNone
		case base < 4:
			return SeverityLow
		case base < 7:
			return SeverityMedium
		case base < 9:
			return SeverityHigh
		default:
			return SeverityCritical
		}
	}
	return ""
}

// splitVersion returns the version of vector and its metrics part.
func splitVersion(vector string) (Version, string, error) {
	rest, ok := strings.CutPrefix(vector, "CVSS:")
	if !ok {
		if len(vector) >= 5 && strings.EqualFold(vector[:5], "CVSS:") {
			return "", "", invalid(vector, "prefix must be upper-case \"CVSS:\"")
		}
		return V2, vector, nil
	}
	ver, body, _ := strings.Cut(rest, "/")
	switch v := Version(ver); v {
	case V30, V31, V40:
		return v, body, nil
	}
	return "", "", invalid(vector, "unsupported CVSS version %q", ver)
}

// checkMetrics checks the "KEY:VALUE/KEY:VALUE" structure of body, that no
// metric appears twice and that the version's mandatory metrics are present.
// Metric names, values and order are left to go-cvss.
func checkMetrics(vector string, ver Version, body string) error {
	if body == "" {
		return invalid(vector, "no metrics")
	}
	var seen [maxMetrics]string
	n := 0
	for part := range strings.SplitSeq(body, "/") {
		key, val, ok := strings.Cut(part, ":")
		switch {
		case part == "":
			return invalid(vector, "empty metric")
		case !ok || key == "" || val == "" || strings.Contains(val, ":"):
			return invalid(vector, "malformed metric %q", part)
		case n == maxMetrics:
			return invalid(vector, "more than %d metrics", maxMetrics)
		}
		for _, k := range seen[:n] {
			if k == key {
				return invalid(vector, "duplicate metric %q", key)
			}
		}
		seen[n] = key
		n++
	}
	for _, want := range mandatory[ver] {
		found := false
		for _, k := range seen[:n] {
			if k == want {
				found = true
				break
			}
		}
		if !found {
			return invalid(vector, "missing mandatory metric %q", want)
		}
	}
	return nil
}

// invalid returns an error wrapping ErrInvalidVector. The vector and the
// detail are clipped so that hostile input cannot make huge messages.
func invalid(vector, format string, args ...any) error {
	return fmt.Errorf("%w %q: %s", ErrInvalidVector, clip(vector), clip(fmt.Sprintf(format, args...)))
}

func clip(s string) string {
	const maxShown = 128
	if len(s) > maxShown {
		return s[:maxShown] + "..."
	}
	return s
}
