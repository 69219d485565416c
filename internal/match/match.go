// Package match turns a package inventory into vulnerabilities: each
// package is looked up in the vulnerability database by ecosystem (with the
// distro release for distro packages) and name (the source package for
// distro packages), its version is tested against every record's ranges
// with the ecosystem's own version ordering, and the records that describe
// the same vulnerability under different ids are merged into one finding.
package match

import (
	"context"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/picket-cdr/picket/internal/cvss"
	"github.com/picket-cdr/picket/internal/finding"
	"github.com/picket-cdr/picket/internal/inventory"
	"github.com/picket-cdr/picket/internal/version"
	"github.com/picket-cdr/picket/internal/vulndb"
)

// Attribute keys set on vulnerability findings.
const (
	AttrPackage   = "package"
	AttrInstalled = "installedVersion"
	AttrFixed     = "fixedVersion"
	AttrEcosystem = "ecosystem"
	AttrPURL      = "purl" // the key report writers use to link to the package
	AttrIDs       = "ids"  // every id of the merged records, comma-separated
	AttrCVSS      = "cvssVector"
	AttrScore     = "cvssScore"
	AttrKEV       = "kev"
	AttrSource    = "dataSource"
)

// Stats counts what matching did and could not do.
type Stats struct {
	Packages    int `json:"packages"`    // packages looked up
	Unsupported int `json:"unsupported"` // packages no feed covers (binaries, unknown distros)
	Errors      int `json:"errors"`      // unparsable versions in packages or records
	// OwnedByOS counts language packages installed by an OS package: the
	// distro's advisories (and backported fixes) govern them, so upstream
	// advisories are not applied to them.
	OwnedByOS   int      `json:"ownedByOS"`
	ErrorSample []string `json:"errorSample,omitempty"`
}

// Matcher matches packages against a database.
type Matcher struct {
	db *vulndb.DB
}

// New returns a Matcher over db.
func New(db *vulndb.DB) *Matcher { return &Matcher{db: db} }

// hit is one record that affects one package.
type hit struct {
	rec   *vulndb.Record
	aff   vulndb.Affected
	fixed string
}

// Match finds the vulnerabilities of pkgs, for an image of distro d. The
// packages are split among one worker per CPU, each with its own version
// parse caches; the result is sorted and does not depend on the split.
func (m *Matcher) Match(ctx context.Context, pkgs []*inventory.Package, d inventory.Distro, target string) ([]*finding.Finding, Stats, error) {
	workers := min(runtime.GOMAXPROCS(0), max(1, len(pkgs)/64))
	type part struct {
		out []*finding.Finding
		st  Stats
		err error
	}
	parts := make([]part, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Interleave so that each worker gets a similar mix.
			var mine []*inventory.Package
			for i := w; i < len(pkgs); i += workers {
				mine = append(mine, pkgs[i])
			}
			parts[w].out, parts[w].st, parts[w].err = m.matchSome(ctx, mine, d, target)
		}()
	}
	wg.Wait()
	var out []*finding.Finding
	var st Stats
	for _, p := range parts {
		if p.err != nil {
			return nil, st, p.err
		}
		out = append(out, p.out...)
		st.Packages += p.st.Packages
		st.Unsupported += p.st.Unsupported
		st.OwnedByOS += p.st.OwnedByOS
		st.Errors += p.st.Errors
		for _, e := range p.st.ErrorSample {
			if len(st.ErrorSample) < 10 {
				st.ErrorSample = append(st.ErrorSample, e)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Severity != out[j].Severity || out[i].RuleID != out[j].RuleID {
			return finding.Less(out[i], out[j])
		}
		if a, b := out[i].Attributes[AttrPackage], out[j].Attributes[AttrPackage]; a != b {
			return a < b
		}
		return out[i].Location.Path < out[j].Location.Path
	})
	return out, st, nil
}

func (m *Matcher) matchSome(ctx context.Context, pkgs []*inventory.Package, d inventory.Distro, target string) ([]*finding.Finding, Stats, error) {
	var st Stats
	var out []*finding.Finding
	memo := map[string]version.Comparer{} // one parse cache per ecosystem
	semver := version.Memoized(version.SemVer)
	scores := map[string]cvss.Score{}
	for _, p := range pkgs {
		if err := ctx.Err(); err != nil {
			return nil, st, err
		}
		if p.OwnedBy != "" && !p.IsOS() {
			st.OwnedByOS++
			continue
		}
		q, ok := queryFor(p, d)
		if !ok {
			st.Unsupported++
			continue
		}
		st.Packages++
		base, _ := version.ParseEcosystem(q.ecosystem)
		cmp, ok := memo[base]
		if !ok {
			c, err := version.For(base)
			if err != nil {
				st.Unsupported++
				continue
			}
			cmp = version.Memoized(c)
			memo[base] = cmp
		}
		recs, err := m.db.Lookup(q.ecosystem, q.name)
		if err != nil {
			return nil, st, fmt.Errorf("match: %s %s: %w", q.ecosystem, q.name, err)
		}
		var hits []hit
		for _, r := range recs {
			if r.Withdrawn != nil {
				continue
			}
			for _, a := range r.Affected {
				if vulndb.NormalizeEcosystem(a.Package.Ecosystem) != vulndb.NormalizeEcosystem(q.ecosystem) ||
					vulndb.NormalizeName(q.ecosystem, a.Package.Name) != vulndb.NormalizeName(q.ecosystem, q.name) {
					continue
				}
				v, err := evaluate(cmp, semver, q.version, a)
				if err != nil {
					st.Errors++
					if len(st.ErrorSample) < 10 {
						st.ErrorSample = append(st.ErrorSample, fmt.Sprintf("%s %s@%s: %v", r.ID, q.name, q.version, err))
					}
					continue
				}
				if v.affected {
					hits = append(hits, hit{rec: r, aff: a, fixed: v.fixed})
					break
				}
			}
		}
		for _, group := range mergeAliases(hits) {
			out = append(out, m.finding(p, q, group, target, cmp, scores))
		}
	}
	return out, st, nil
}

// mergeAliases groups hits whose ids or aliases overlap: GO-2022-0001,
// GHSA-xxxx and CVE-2022-1234 describing one flaw become one finding.
func mergeAliases(hits []hit) [][]hit {
	parent := make([]int, len(hits))
	for i := range parent {
		parent[i] = i
	}
	find := func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	owner := map[string]int{}
	for i, h := range hits {
		for _, id := range append([]string{h.rec.ID}, h.rec.Aliases...) {
			if j, ok := owner[id]; ok {
				parent[find(i)] = find(j)
			} else {
				owner[id] = i
			}
		}
	}
	groups := map[int][]hit{}
	var order []int
	for i, h := range hits {
		r := find(i)
		if _, ok := groups[r]; !ok {
			order = append(order, r)
		}
		groups[r] = append(groups[r], h)
	}
	out := make([][]hit, 0, len(order))
	for _, r := range order {
		out = append(out, groups[r])
	}
	return out
}

// severityRank orders CVSS versions: newer scoring systems win.
var severityRank = map[string]int{"CVSS_V4": 4, "CVSS_V3": 3, "CVSS_V2": 2}

func (m *Matcher) finding(p *inventory.Package, q query, group []hit, target string, cmp version.Comparer, scores map[string]cvss.Score) *finding.Finding {
	ids := map[string]bool{}
	var cves []string
	var refs []string
	var summary, details, fixed, sources string
	for _, h := range group {
		for _, id := range append([]string{h.rec.ID}, h.rec.Aliases...) {
			if !ids[id] {
				ids[id] = true
				if strings.HasPrefix(id, "CVE-") {
					cves = append(cves, id)
				}
			}
		}
		if summary == "" {
			summary = h.rec.Summary
		}
		if details == "" {
			details = h.rec.Details
		}
		if h.fixed != "" && (fixed == "" || lower(cmp, h.fixed, fixed)) {
			fixed = h.fixed
		}
		refs = append(refs, h.rec.References...)
		if !strings.Contains(sources, h.rec.Source) {
			sources = strings.TrimPrefix(sources+","+h.rec.Source, ",")
		}
	}
	sort.Strings(cves)
	primary := group[0].rec.ID
	if len(cves) == 1 {
		primary = cves[0]
	} else {
		// Stable choice among non-CVE ids: the lexically smallest.
		for _, h := range group {
			if h.rec.ID < primary {
				primary = h.rec.ID
			}
		}
	}
	allIDs := make([]string, 0, len(ids))
	for id := range ids {
		allIDs = append(allIDs, id)
	}
	sort.Strings(allIDs)

	sev, vector, score := severityOf(group, scores)
	f := &finding.Finding{
		Kind:     finding.KindVulnerability,
		Severity: sev,
		RuleID:   primary,
		Title:    titleFor(primary, p, summary),
		Target:   target,
		Location: finding.Location{
			Path: p.Path, LayerIndex: intPtr(p.Layer), LayerDiffID: p.LayerDiffID,
		},
		Description: firstNonEmpty(summary, details),
		References:  dedupe(refs, 8),
		Attributes: map[string]string{
			AttrPackage:   p.Name,
			AttrInstalled: p.Version,
			AttrEcosystem: q.ecosystem,
			AttrPURL:      p.PURL,
			AttrIDs:       strings.Join(allIDs, ","),
			AttrSource:    sources,
		},
	}
	if fixed != "" {
		f.Attributes[AttrFixed] = fixed
		f.Remediation = fmt.Sprintf("Upgrade %s to %s or later.", q.name, fixed)
		if q.name != p.Name {
			f.Remediation = fmt.Sprintf("Upgrade %s (source package %s) to %s or later.", p.Name, q.name, fixed)
		}
	} else {
		f.Remediation = "No fixed version is known yet."
	}
	if vector != "" {
		f.Attributes[AttrCVSS] = vector
		f.Attributes[AttrScore] = fmt.Sprintf("%.1f", score)
	}
	var kev []string
	for _, c := range cves {
		if k, ok := m.db.KEV(c); ok {
			kev = append(kev, c+" (added "+k.DateAdded+")")
		}
	}
	if len(kev) > 0 {
		f.Attributes[AttrKEV] = strings.Join(kev, ", ")
		f.Tags = append(f.Tags, "kev")
	}
	f.Evidence = fmt.Sprintf("%s %s (%s)", p.Name, p.Version, q.ecosystem)
	return f
}

// severityOf picks the most authoritative severity of a merged group: the
// highest-version CVSS vector's computed score (per-package vectors beat the
// record's), then a feed's own rating (GHSA, distro urgency).
func severityOf(group []hit, scores map[string]cvss.Score) (finding.Severity, string, float64) {
	bestRank, bestScore := 0, -1.0
	var bestVector string
	parse := func(v string) (cvss.Score, error) {
		if sc, ok := scores[v]; ok {
			return sc, nil
		}
		sc, err := cvss.Parse(v)
		if err == nil {
			scores[v] = sc
		}
		return sc, err
	}
	consider := func(ss []vulndb.Severity) {
		for _, s := range ss {
			rank := severityRank[s.Type]
			if rank == 0 {
				continue
			}
			sc, err := parse(s.Score)
			if err != nil {
				continue
			}
			if rank > bestRank || rank == bestRank && sc.Base > bestScore {
				bestRank, bestScore, bestVector = rank, sc.Base, s.Score
			}
		}
	}
	for _, h := range group {
		consider(h.aff.Severity)
		consider(h.rec.Severity)
	}
	if bestVector != "" {
		sc, _ := parse(bestVector)
		s, _ := finding.ParseSeverity(sc.Severity)
		if sc.Severity == "NONE" {
			s = finding.Info
		}
		return s, bestVector, sc.Base
	}
	best := finding.Unknown
	for _, h := range group {
		for _, word := range []string{h.aff.EcosystemSeverity, h.rec.DatabaseSeverity} {
			if s := qualitative(word); s > best {
				best = s
			}
		}
	}
	return best, "", 0
}

// qualitative maps feed severity words (GHSA's MODERATE, Debian's urgency,
// Ubuntu's priority) onto Picket's levels.
func qualitative(w string) finding.Severity {
	switch strings.ToUpper(strings.TrimSpace(strings.TrimSuffix(w, "*"))) {
	case "CRITICAL":
		return finding.Critical
	case "HIGH", "IMPORTANT":
		return finding.High
	case "MODERATE", "MEDIUM":
		return finding.Medium
	case "LOW", "NEGLIGIBLE", "UNIMPORTANT":
		return finding.Low
	}
	return finding.Unknown
}

func titleFor(id string, p *inventory.Package, summary string) string {
	if summary != "" {
		return summary
	}
	return fmt.Sprintf("%s in %s %s", id, p.Name, p.Version)
}

func intPtr(i int) *int { return &i }

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

// lower reports a < b, falling back to SemVer and then to string order for
// fixed versions the ecosystem's comparer cannot read.
func lower(cmp version.Comparer, a, b string) bool {
	if n, err := cmp.Compare(a, b); err == nil {
		return n < 0
	}
	if n, err := version.SemVer.Compare(a, b); err == nil {
		return n < 0
	}
	return a < b
}

func dedupe(list []string, max int) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range list {
		if !seen[s] && len(out) < max {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
