package report

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"github.com/picket-cdr/picket/internal/report/sarif"
	"io"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/picket-cdr/picket/internal/finding"
)

// SARIF identifiers written by writeSARIF.
const (
	sarifSchema  = sarif.Schema
	sarifVersion = sarif.Version
	// sarifFingerprint keys the partial fingerprint Picket computes, versioned
	// so a future change of inputs does not collide with old values.
	sarifFingerprint = "picketFindingHash/v1"
)

// The SARIF model is shared with the compliance benchmark (package sarif).
type (
	sarifLog              = sarif.Log
	sarifRun              = sarif.Run
	sarifTool             = sarif.Tool
	sarifDriver           = sarif.Driver
	sarifRule             = sarif.Rule
	sarifConfiguration    = sarif.Configuration
	sarifMessage          = sarif.Message
	sarifResult           = sarif.Result
	sarifSuppression      = sarif.Suppression
	sarifLocation         = sarif.Location
	sarifPhysicalLocation = sarif.PhysicalLocation
	sarifArtifactLocation = sarif.ArtifactLocation
	sarifRegion           = sarif.Region
	sarifLogicalLocation  = sarif.LogicalLocation
	sarifRuleProperties   struct {
		// SecuritySeverity is the GitHub code-scanning score, a number
		// between 0.0 and 10.0 written as a string as GitHub documents it.
		SecuritySeverity string   `json:"security-severity,omitempty"`
		Tags             []string `json:"tags"`
	}
)

// writeSARIF renders the findings as one SARIF 2.1.0 run. Each distinct rule
// id becomes a rule; each finding a result located at its path inside the
// image (or, without a path, at the target), with the layer it came from as
// a logical location and in the result properties. Suppressed findings
// follow the others as results carrying an accepted external suppression
// with the user's reason, so dashboards show them as dismissed rather than
// losing them.
func writeSARIF(w io.Writer, r *Report, opts Options) error {
	fs := sortedFindings(r)
	sup := sortedSuppressed(r)
	all := slices.Clone(fs)
	for _, s := range sup {
		all = append(all, s.Finding)
	}
	slices.SortStableFunc(all, compareFindings)
	rules, index := sarifRules(all)

	results := make([]sarifResult, 0, len(fs)+len(sup))
	for _, f := range fs {
		results = append(results, sarifResultFor(r, f, index[f.RuleID]))
	}
	for _, s := range sup {
		res := sarifResultFor(r, s.Finding, index[s.Finding.RuleID])
		if s.Status != "" {
			res.Message.Text += "; suppressed (" + s.Status + ")"
		}
		props := map[string]any{}
		if s.Source != "" {
			props["source"] = s.Source
		}
		if s.Status != "" {
			props["status"] = s.Status
		}
		if len(props) == 0 {
			props = nil
		}
		res.Suppressions = []sarifSuppression{{
			Kind:          "external",
			Status:        "accepted",
			Justification: s.Reason,
			Properties:    props,
		}}
		results = append(results, res)
	}

	run := sarifRun{
		Tool: sarifTool{Driver: sarifDriver{
			Name:    "picket",
			Version: toolVersion(r, opts),
			Rules:   rules,
		}},
		Results:    results,
		Properties: sarifRunProperties(r),
	}
	log := sarifLog{Schema: sarifSchema, Version: sarifVersion, Runs: []sarifRun{run}}

	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(log); err != nil {
		return err
	}
	return writeBuffered(w, &buf)
}

// sarifRules builds one rule per distinct rule id, sorted by id, and the
// index of each id in the result. A rule takes its texts from the most
// severe of its findings (fs is sorted) and its tags from all of them.
// Vulnerability rules are described by vulnerabilityRule.
func sarifRules(fs []*finding.Finding) ([]sarifRule, map[string]int) {
	byID := map[string][]*finding.Finding{}
	var ids []string
	for _, f := range fs {
		if _, ok := byID[f.RuleID]; !ok {
			ids = append(ids, f.RuleID)
		}
		byID[f.RuleID] = append(byID[f.RuleID], f)
	}
	slices.Sort(ids)

	rules := make([]sarifRule, 0, len(ids))
	index := make(map[string]int, len(ids))
	for i, id := range ids {
		group := byID[id] // sorted, so group[0] is the most severe
		top := group[0]
		rule := sarifRule{
			ID:                   sarifRuleID(id),
			DefaultConfiguration: &sarifConfiguration{Level: sarifLevel(top.Severity)},
			Properties: &sarifRuleProperties{
				SecuritySeverity: securitySeverity(top.Severity),
				Tags:             sarifTags(group),
			},
		}
		title := firstNonEmpty(group, func(f *finding.Finding) string { return f.Title })
		if title == "" {
			title = rule.ID
		}
		rule.ShortDescription = &sarifMessage{Text: title}
		if d := firstNonEmpty(group, func(f *finding.Finding) string { return f.Description }); d != "" {
			rule.FullDescription = &sarifMessage{Text: d}
		}
		if rem := firstNonEmpty(group, func(f *finding.Finding) string { return f.Remediation }); rem != "" {
			rule.Help = &sarifMessage{Text: rem}
		}
		if isVulnerability(top) {
			vulnerabilityRule(&rule, group, title)
		}
		for _, f := range group {
			if u := firstHTTPURL(f.References); u != "" {
				rule.HelpURI = u
				break
			}
		}
		rules = append(rules, rule)
		index[id] = i
	}
	return rules, index
}

// sarifResultFor converts one finding.
func sarifResultFor(r *Report, f *finding.Finding, ruleIndex int) sarifResult {
	msg := f.Title
	if isVulnerability(f) && f.Attributes[attrPackage] != "" {
		msg = vulnerabilityMessage(f)
	}
	if msg == "" {
		msg = sarifRuleID(f.RuleID)
	}
	uri := findingLocationPath(f)
	if uri == "" {
		uri = cmp.Or(f.Target, f.Location.Image, r.Target.Name, "image")
	}
	loc := sarifLocation{PhysicalLocation: sarifPhysicalLocation{
		ArtifactLocation: sarifArtifactLocation{URI: uriReference(uri)},
	}}
	if f.Location.Line > 0 {
		loc.PhysicalLocation.Region = &sarifRegion{StartLine: f.Location.Line}
	}

	props := map[string]any{
		"kind":     string(f.Kind),
		"severity": f.Severity.String(),
	}
	if f.Location.LayerIndex != nil {
		props["layerIndex"] = *f.Location.LayerIndex
	}
	if f.Location.LayerDiffID != "" {
		props["layerDiffId"] = f.Location.LayerDiffID
		name := f.Location.LayerDiffID
		if f.Location.LayerIndex != nil {
			name = "layer " + strconv.Itoa(*f.Location.LayerIndex) + " " + name
		}
		loc.LogicalLocations = []sarifLogicalLocation{{
			Name:               f.Location.LayerDiffID,
			FullyQualifiedName: name,
			Kind:               "layer",
		}}
	}
	if img := cmp.Or(f.Location.ImageID, r.Target.ImageID); img != "" {
		props["imageId"] = img
	}
	if f.Location.Container != "" {
		props["container"] = f.Location.Container
	}
	if f.Location.Host != "" {
		props["host"] = f.Location.Host
	}
	if f.Location.PID != 0 {
		props["pid"] = f.Location.PID
	}
	// Secret evidence stays out of SARIF, which is typically uploaded to a
	// shared dashboard, even though scanners redact it.
	if f.Evidence != "" && f.Kind != finding.KindSecret {
		props["evidence"] = f.Evidence
	}
	if len(f.Attributes) > 0 {
		props["attributes"] = f.Attributes
	}

	return sarifResult{
		RuleID:              sarifRuleID(f.RuleID),
		RuleIndex:           ruleIndex,
		Level:               sarifLevel(f.Severity),
		Message:             sarifMessage{Text: msg},
		Locations:           []sarifLocation{loc},
		PartialFingerprints: map[string]string{sarifFingerprint: findingHash(f)},
		Properties:          props,
	}
}

// sarifRunProperties describes the scanned target on the run.
func sarifRunProperties(r *Report) map[string]any {
	t := r.Target
	props := map[string]any{}
	for k, v := range map[string]string{
		"target":       t.Name,
		"targetKind":   t.Kind,
		"imageId":      t.ImageID,
		"digest":       t.Digest,
		"os":           t.OS,
		"architecture": t.Architecture,
		"distro":       distroName(t.Distro),
	} {
		if v != "" {
			props[k] = v
		}
	}
	if len(t.RepoTags) > 0 {
		props["repoTags"] = t.RepoTags
	}
	if r.VulnDB != nil {
		props["vulnerabilityDatabase"] = r.VulnDB
	}
	if len(props) == 0 {
		return nil
	}
	return props
}

// sarifRuleID is the rule id SARIF sees; results need a non-empty one.
func sarifRuleID(id string) string {
	if id == "" {
		return "picket/unknown-rule"
	}
	return id
}

// sarifLevel maps a severity to a SARIF result level.
func sarifLevel(s finding.Severity) string {
	switch s {
	case finding.Critical, finding.High:
		return "error"
	case finding.Medium:
		return "warning"
	default:
		return "note"
	}
}

// securitySeverity is the GitHub code-scanning score for a severity, or ""
// for severities that carry none (INFO, UNKNOWN).
func securitySeverity(s finding.Severity) string {
	switch s {
	case finding.Critical:
		return "9.5"
	case finding.High:
		return "8.0"
	case finding.Medium:
		return "5.5"
	case finding.Low:
		return "2.0"
	}
	return ""
}

// sarifTags is "security", the findings' kinds and their tags, sorted and
// de-duplicated.
func sarifTags(group []*finding.Finding) []string {
	tags := []string{"security"}
	for _, f := range group {
		if f.Kind != "" {
			tags = append(tags, string(f.Kind))
		}
		tags = append(tags, f.Tags...)
	}
	slices.Sort(tags)
	tags = slices.Compact(tags)
	return slices.DeleteFunc(tags, func(t string) bool { return t == "" })
}

// findingHash fingerprints a finding from the facts that identify it, so
// code-scanning services can track it across scans.
func findingHash(f *finding.Finding) string {
	h := sha256.New()
	for _, s := range []string{string(f.Kind), f.RuleID, f.Target, f.Location.String(), f.Location.LayerDiffID, f.Title} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	keys := make([]string, 0, len(f.Attributes))
	for k := range f.Attributes {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		h.Write([]byte(k + "=" + f.Attributes[k]))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// uriReference escapes p (a slash-separated path or a target name) as a
// relative URI reference. A first segment with a colon ("alpine:3.19") is
// prefixed with "./" so it cannot be read as a URI scheme.
func uriReference(p string) string {
	u := url.URL{Path: p}
	return u.String()
}

// firstHTTPURL returns the first http(s) URL in refs, or "".
func firstHTTPURL(refs []string) string {
	for _, ref := range refs {
		if u, err := url.Parse(ref); err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" {
			return ref
		}
	}
	return ""
}

// firstNonEmpty returns the first non-empty field of the findings.
func firstNonEmpty(fs []*finding.Finding, field func(*finding.Finding) string) string {
	for _, f := range fs {
		if s := field(f); s != "" {
			return s
		}
	}
	return ""
}

// vulnerabilityRule completes the rule of a vulnerability id: named after
// its title, with help naming the affected packages, their fixed versions
// and the remediation, the CVSS base score (the highest of the group's) as
// security-severity when there is one, and the "kev" tag when CISA lists
// it as exploited.
func vulnerabilityRule(rule *sarifRule, group []*finding.Finding, title string) {
	rule.Name = title

	var lines, seen []string
	add := func(line string) {
		if line != "" && !slices.Contains(seen, line) {
			seen = append(seen, line)
			lines = append(lines, line)
		}
	}
	if aliases := vulnAliases(group[0]); len(aliases) > 0 {
		add("Also known as: " + strings.Join(aliases, ", ") + ".")
	}
	for _, f := range group {
		pkg := strings.TrimSpace(f.Attributes[attrPackage] + " " + f.Attributes[attrInstalled])
		if pkg == "" {
			continue
		}
		if fixed := f.Attributes[attrFixed]; fixed != "" {
			add("Affected: " + pkg + "; fixed in " + fixed + ".")
		} else {
			add("Affected: " + pkg + "; no fixed version is known.")
		}
	}
	for _, f := range group {
		// Without a fix the remediation would only repeat that there is none.
		if f.Attributes[attrFixed] != "" || f.Attributes[attrPackage] == "" {
			add(f.Remediation)
		}
	}
	for _, f := range group {
		if k := f.Attributes[attrKEV]; k != "" {
			add("Known exploited (CISA KEV): " + k + ".")
		}
	}
	if len(lines) > 0 {
		rule.Help = &sarifMessage{Text: strings.Join(lines, "\n")}
	}

	best := -1.0
	for _, f := range group {
		if score, ok := cvssScore(f); ok && score > best {
			best = score
		}
	}
	props := rule.Properties.(*sarifRuleProperties)
	if best >= 0 {
		props.SecuritySeverity = strconv.FormatFloat(best, 'f', 1, 64)
	}
	if slices.ContainsFunc(group, isKEV) && !slices.Contains(props.Tags, "kev") {
		props.Tags = append(props.Tags, "kev")
		slices.Sort(props.Tags)
	}
}

// vulnerabilityMessage is a vulnerability result's message:
// "PKG VERSION is affected by ID (fixed in FIXED)".
func vulnerabilityMessage(f *finding.Finding) string {
	msg := strings.TrimSpace(f.Attributes[attrPackage]+" "+f.Attributes[attrInstalled]) +
		" is affected by " + sarifRuleID(f.RuleID)
	if fixed := f.Attributes[attrFixed]; fixed != "" {
		return msg + " (fixed in " + fixed + ")"
	}
	return msg + " (no fixed version is known)"
}
