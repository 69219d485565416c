// Package vulndb is Picket's vulnerability database: OSV records per
// ecosystem, Alpine's secdb and the CISA KEV catalogue, parsed defensively,
// stored in an embedded bbolt file under the user's cache directory, and
// queried by ecosystem and package name. Updates build a new file and swap
// it in atomically, so a failed update never leaves a broken database and
// scans keep reading while one runs.
package vulndb

import (
	"errors"
	"strings"
	"time"
)

// Errors for bad input. Every parser error wraps one of them.
var (
	ErrInvalidRecord = errors.New("vulndb: invalid record")
	ErrUnsupported   = errors.New("vulndb: unsupported input")
)

// Record is the subset of an OSV record (schema 1.x) that matching and
// reports need. Other feeds (Alpine secdb) are converted into it.
type Record struct {
	ID        string     `json:"id"`
	Source    string     `json:"source,omitempty"` // "osv/Go", "secdb/v3.10/main", "import:/path"
	Aliases   []string   `json:"aliases,omitempty"`
	Related   []string   `json:"related,omitempty"`
	Summary   string     `json:"summary,omitempty"`
	Details   string     `json:"details,omitempty"`
	Published time.Time  `json:"published,omitempty"`
	Modified  time.Time  `json:"modified,omitempty"`
	Withdrawn *time.Time `json:"withdrawn,omitempty"`
	Severity  []Severity `json:"severity,omitempty"`
	Affected  []Affected `json:"affected"`
	// References are URLs (advisories, fixes).
	References []string `json:"references,omitempty"`
	// DatabaseSeverity is a qualitative severity given by the feed
	// (GHSA "database_specific.severity", distro urgency).
	DatabaseSeverity string `json:"databaseSeverity,omitempty"`
}

// Severity is a scored severity ("CVSS_V3" with its vector).
type Severity struct {
	Type  string `json:"type"`
	Score string `json:"score"`
}

// Package names the affected package.
type Package struct {
	Ecosystem string `json:"ecosystem"` // "Go", "PyPI", "Alpine:v3.10", "Debian:12"
	Name      string `json:"name"`
	PURL      string `json:"purl,omitempty"`
}

// Affected is one affected package with its ranges and listed versions.
type Affected struct {
	Package  Package  `json:"package"`
	Ranges   []Range  `json:"ranges,omitempty"`
	Versions []string `json:"versions,omitempty"`
	// versions is the stored form of Versions ("\n"-joined, with a leading
	// and trailing "\n"), kept by records read from the database instead of
	// splitting lists of hundreds of versions nobody will print.
	versions string
	// Severity overrides the record's severity for this package.
	Severity []Severity `json:"severity,omitempty"`
	// EcosystemSeverity is a distro's qualitative rating for this package.
	EcosystemSeverity string `json:"ecosystemSeverity,omitempty"`
}

// Range is an OSV range: "SEMVER", "ECOSYSTEM" or "GIT".
type Range struct {
	Type   string  `json:"type"`
	Events []Event `json:"events"`
}

// Event is one OSV range event; exactly one field is set.
type Event struct {
	Introduced   string `json:"introduced,omitempty"`
	Fixed        string `json:"fixed,omitempty"`
	LastAffected string `json:"last_affected,omitempty"`
	Limit        string `json:"limit,omitempty"`
}

// CVEs returns the record's CVE ids: its own id when it is one, and its
// aliases that are.
func (r *Record) CVEs() []string {
	var out []string
	seen := map[string]bool{}
	for _, id := range append([]string{r.ID}, r.Aliases...) {
		if strings.HasPrefix(id, "CVE-") && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// KEV is an entry of CISA's Known Exploited Vulnerabilities catalogue.
type KEV struct {
	CVE             string `json:"cveID"`
	VendorProject   string `json:"vendorProject,omitempty"`
	Product         string `json:"product,omitempty"`
	Name            string `json:"vulnerabilityName,omitempty"`
	DateAdded       string `json:"dateAdded,omitempty"`
	DueDate         string `json:"dueDate,omitempty"`
	RequiredAction  string `json:"requiredAction,omitempty"`
	KnownRansomware string `json:"knownRansomwareCampaignUse,omitempty"`
}

// NormalizeName canonicalises a package name the way its ecosystem
// compares names: PyPI per PEP 503, everything else as written (Go module
// paths and Maven coordinates are case-sensitive; distro names are
// lower-case already).
func NormalizeName(ecosystem, name string) string {
	if base, _, _ := strings.Cut(ecosystem, ":"); base == "PyPI" {
		name = strings.ToLower(name)
		var b strings.Builder
		dash := false
		for _, c := range name {
			if c == '-' || c == '_' || c == '.' {
				if !dash {
					b.WriteByte('-')
				}
				dash = true
				continue
			}
			dash = false
			b.WriteRune(c)
		}
		return b.String()
	}
	return name
}

// NormalizeEcosystem canonicalises an OSV ecosystem string for indexing:
// Ubuntu's ":LTS" and ":Pro:" qualifiers are dropped so "Ubuntu:22.04:LTS"
// and "Ubuntu:Pro:22.04:LTS" index as "Ubuntu:22.04".
func NormalizeEcosystem(eco string) string {
	if strings.HasPrefix(eco, "Ubuntu:") {
		parts := strings.Split(eco, ":")
		var keep []string
		for _, p := range parts {
			if p != "LTS" && p != "Pro" && p != "FIPS" {
				keep = append(keep, p)
			}
		}
		return strings.Join(keep, ":")
	}
	return eco
}

// now is the clock, replaceable in tests.
var now = func() time.Time { return time.Now().UTC() }

// HasVersion reports whether v is one of the affected entry's listed versions.
func (a *Affected) HasVersion(v string) bool {
	if a.versions != "" {
		return strings.Contains(a.versions, "\n"+v+"\n")
	}
	for _, x := range a.Versions {
		if x == v {
			return true
		}
	}
	return false
}

// ListedVersions returns the listed versions, splitting the stored form
// when the record came from the database.
func (a *Affected) ListedVersions() []string {
	if a.versions != "" && a.Versions == nil {
		return strings.Split(strings.Trim(a.versions, "\n"), "\n")
	}
	return a.Versions
}
