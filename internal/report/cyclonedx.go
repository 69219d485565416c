package report

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"
	"github.com/google/uuid"

	"github.com/picket-cdr/picket/internal/finding"
	"github.com/picket-cdr/picket/internal/inventory"
)

// FindingAttrPURL is the Finding.Attributes key naming the package URL of the
// package a vulnerability finding affects. The CycloneDX writer links the
// vulnerability to the component with that purl; without it the
// vulnerability is recorded against the image.
const FindingAttrPURL = "purl"

// cycloneDXSchema is the JSON schema URL of CycloneDX 1.6.
const cycloneDXSchema = "http://cyclonedx.org/schema/bom-1.6.schema.json"

// Property names Picket adds to CycloneDX components, in the picket
// namespace.
const (
	propLayerIndex     = "picket:layer:index"
	propLayerDiffID    = "picket:layer:diffID"
	propLocationPath   = "picket:location:path"
	propSourceName     = "picket:package:sourceName"
	propSourceVersion  = "picket:package:sourceVersion"
	propOwnedBy        = "picket:package:ownedBy"
	propEcosystem      = "picket:package:ecosystem"
	propArch           = "picket:package:arch"
	propAnalyzer       = "picket:analyzer"
	propImageID        = "picket:image:id"
	propImageDigest    = "picket:image:digest"
	propImageRepoTag   = "picket:image:repoTag"
	propImageOS        = "picket:image:os"
	propImageArch      = "picket:image:architecture"
	propTargetKind     = "picket:target:kind"
	propTargetSource   = "picket:target:source"
	propDistroCodename = "picket:distro:codename"
)

// uuidNamespace seeds the name-based (version 5) UUIDs Picket derives from
// document content, so equal input yields equal serial numbers.
var uuidNamespace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://picket.dev/"))

// writeCycloneDX renders the inventory as a CycloneDX 1.6 JSON BOM: the
// image as metadata.component, the distro as an operating-system component,
// one library component per package, a flat dependency from the image to
// every component, and the vulnerability findings, if any.
func writeCycloneDX(w io.Writer, r *Report, opts Options) error {
	bom := cycloneDXBOM(r, opts)

	// The serial number is a UUID derived from the rest of the document.
	var buf bytes.Buffer
	if err := encodeCycloneDX(&buf, bom); err != nil {
		return err
	}
	bom.SerialNumber = "urn:uuid:" + uuid.NewSHA1(uuidNamespace, buf.Bytes()).String()
	buf.Reset()
	if err := encodeCycloneDX(&buf, bom); err != nil {
		return err
	}
	return writeBuffered(w, &buf)
}

func encodeCycloneDX(w io.Writer, bom *cdx.BOM) error {
	enc := cdx.NewBOMEncoder(w, cdx.BOMFileFormatJSON)
	enc.SetPretty(true).SetEscapeHTML(false)
	return enc.Encode(bom)
}

// cycloneDXBOM builds the BOM for r, without a serial number.
func cycloneDXBOM(r *Report, opts Options) *cdx.BOM {
	image := cycloneDXImage(r)
	components := []cdx.Component{}
	refs := map[string]bool{image.BOMRef: true}
	if !r.Target.Distro.Empty() {
		osc := cycloneDXOS(r.Target.Distro)
		osc.BOMRef = uniqueRef(refs, osc.BOMRef)
		components = append(components, osc)
	}
	byPURL := map[string][]string{}
	for _, p := range sortedPackages(r) {
		c := cycloneDXPackage(p)
		c.BOMRef = uniqueRef(refs, c.BOMRef)
		if p.PURL != "" {
			byPURL[p.PURL] = append(byPURL[p.PURL], c.BOMRef)
		}
		components = append(components, c)
	}

	deps := make([]string, 0, len(components))
	for _, c := range components {
		deps = append(deps, c.BOMRef)
	}
	dep := cdx.Dependency{Ref: image.BOMRef}
	if len(deps) > 0 {
		dep.Dependencies = &deps
	}

	bom := &cdx.BOM{
		JSONSchema:  cycloneDXSchema,
		BOMFormat:   cdx.BOMFormat,
		SpecVersion: cdx.SpecVersion1_6,
		Version:     1,
		Metadata: &cdx.Metadata{
			Timestamp: createdAt(r).Format(time.RFC3339),
			Tools: &cdx.ToolsChoice{Components: &[]cdx.Component{{
				Type:    cdx.ComponentTypeApplication,
				Name:    "picket",
				Version: toolVersion(r, opts),
			}}},
			Component: &image,
		},
		Components:   &components,
		Dependencies: &[]cdx.Dependency{dep},
	}
	if vulns := cycloneDXVulnerabilities(r, refs, image.BOMRef, byPURL); len(vulns) > 0 {
		bom.Vulnerabilities = &vulns
	}
	if db := r.VulnDB; db != nil {
		var props propertyList
		props.add(propVulnDBStatus, db.Status)
		if !db.UpdatedAt.IsZero() {
			props.add(propVulnDBUpdated, db.UpdatedAt.UTC().Format(time.RFC3339))
		}
		for _, src := range db.Sources {
			props.add(propVulnDBSource, src)
		}
		bom.Metadata.Properties = props.ptr()
	}
	return bom
}

// cycloneDXImage describes the scanned target as a container component.
func cycloneDXImage(r *Report) cdx.Component {
	t := r.Target
	name := cmp.Or(t.Name, t.ImageID, "image")
	version := cmp.Or(t.Digest, t.ImageID)
	ref := name
	if version != "" && !strings.HasSuffix(name, version) {
		ref += "@" + version
	}
	var props propertyList
	props.add(propTargetKind, t.Kind)
	props.add(propTargetSource, t.Source)
	props.add(propImageID, t.ImageID)
	props.add(propImageDigest, t.Digest)
	for _, tag := range t.RepoTags {
		props.add(propImageRepoTag, tag)
	}
	props.add(propImageOS, t.OS)
	props.add(propImageArch, t.Architecture)
	layers := slices.Clone(t.Layers)
	slices.SortStableFunc(layers, func(a, b Layer) int { return cmp.Compare(a.Index, b.Index) })
	for _, l := range layers {
		props.add(propLayerDiffID, l.DiffID)
	}
	return cdx.Component{
		BOMRef:     ref,
		Type:       cdx.ComponentTypeContainer,
		Name:       name,
		Version:    version,
		Properties: props.ptr(),
	}
}

// cycloneDXOS describes the distro as an operating-system component.
func cycloneDXOS(d inventory.Distro) cdx.Component {
	ref := "os:" + d.ID
	if d.VersionID != "" {
		ref += "@" + d.VersionID
	}
	var props propertyList
	props.add(propDistroCodename, d.Codename)
	return cdx.Component{
		BOMRef:      ref,
		Type:        cdx.ComponentTypeOS,
		Name:        d.ID,
		Version:     d.VersionID,
		Description: d.PrettyName,
		Properties:  props.ptr(),
	}
}

// cycloneDXPackage converts one package to a library component.
func cycloneDXPackage(p *inventory.Package) cdx.Component {
	var props propertyList
	props.add(propEcosystem, string(p.Ecosystem))
	props.add(propLayerIndex, strconv.Itoa(p.Layer))
	props.add(propLayerDiffID, p.LayerDiffID)
	props.add(propLocationPath, p.Path)
	props.add(propSourceName, p.SourceName)
	props.add(propSourceVersion, p.SourceVersion)
	props.add(propArch, p.Arch)
	props.add(propOwnedBy, p.OwnedBy)
	props.add(propAnalyzer, p.Analyzer)
	return cdx.Component{
		BOMRef:     packageRef(p),
		Type:       cdx.ComponentTypeLibrary,
		Name:       p.Name,
		Version:    p.Version,
		PackageURL: p.PURL,
		Licenses:   cycloneDXLicenses(p.Licenses),
		Properties: props.ptr(),
	}
}

// packageRef is a package's bom-ref: its purl (or a purl-like name when it
// has none) qualified with a hash of the package key, which tells apart the
// same package found at different paths.
func packageRef(p *inventory.Package) string {
	base := p.PURL
	if base == "" {
		base = "picket:" + string(p.Ecosystem) + "/" + p.Name + "@" + p.Version
	}
	base, subpath, hasSubpath := strings.Cut(base, "#")
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	ref := base + sep + "package-id=" + packageID(p)
	if hasSubpath {
		ref += "#" + subpath
	}
	return ref
}

// packageID is a short, stable hash of the package key.
func packageID(p *inventory.Package) string {
	sum := sha256.Sum256([]byte(p.Key()))
	return hex.EncodeToString(sum[:8])
}

// uniqueRef returns ref, suffixed if needed so it is not yet in used, and
// records it.
func uniqueRef(used map[string]bool, ref string) string {
	out := ref
	for n := 2; used[out]; n++ {
		out = ref + "-" + strconv.Itoa(n)
	}
	used[out] = true
	return out
}

// cycloneDXLicenses converts declared license strings. Listed SPDX ids
// become license ids; when any entry needs an expression and all are
// valid, they are combined into one expression (CycloneDX does not allow
// mixing the two); anything else is kept as a license name.
func cycloneDXLicenses(licenses []string) *cdx.Licenses {
	exprs, valid := declaredLicenses(licenses)
	if len(exprs) == 0 {
		return nil
	}
	declared := cdx.LicenseAcknowledgementDeclared
	allSingle := !slices.ContainsFunc(exprs, func(e licenseExpr) bool { return !e.single })
	if valid && !allSingle {
		return &cdx.Licenses{{Expression: joinLicenses(exprs), Acknowledgement: &declared}}
	}
	out := make(cdx.Licenses, 0, len(exprs))
	for _, e := range exprs {
		l := &cdx.License{Acknowledgement: declared}
		if e.single {
			l.ID = e.text
		} else {
			l.Name = e.text
		}
		out = append(out, cdx.LicenseChoice{License: l})
	}
	return &out
}

// Property names Picket adds to CycloneDX vulnerabilities and to the
// metadata.
const (
	propVulnKEV           = "picket:vulnerability:kev"
	propSuppressionSource = "picket:suppression:source"
	propVulnDBStatus      = "picket:vulndb:status"
	propVulnDBUpdated     = "picket:vulndb:updatedAt"
	propVulnDBSource      = "picket:vulndb:source"
)

// vexToCycloneDXJustification maps OpenVEX justifications onto CycloneDX's.
var vexToCycloneDXJustification = map[string]cdx.ImpactAnalysisJustification{
	"component_not_present":                             cdx.IAJCodeNotPresent,
	"vulnerable_code_not_present":                       cdx.IAJCodeNotPresent,
	"vulnerable_code_not_in_execute_path":               cdx.IAJCodeNotReachable,
	"vulnerable_code_cannot_be_controlled_by_adversary": cdx.IAJRequiresEnvironment,
	"inline_mitigations_already_exist":                  cdx.IAJProtectedByMitigatingControl,
}

// cdxVulnEntry is one vulnerability finding bound for the BOM, with the
// impact analysis of the VEX statement that suppressed it, if any.
type cdxVulnEntry struct {
	f        *finding.Finding
	analysis *cdx.VulnerabilityAnalysis
	source   string // the suppression's source
}

// cycloneDXVulnerabilities lists the vulnerability findings, one entry per
// rule id, affecting the components named by the findings' purl
// attribute, or the image when none matches.
//
// Findings a VEX statement suppressed are listed too, in entries of their
// own carrying the statement as impact analysis: "not_affected" (with the
// OpenVEX justification mapped onto CycloneDX's where one corresponds) or,
// for "fixed", "resolved". Findings suppressed by an ignore file are left
// out: the BOM states facts about the image, and an ignore file is local
// policy that asserts none; it is recorded in the JSON and SARIF reports.
func cycloneDXVulnerabilities(r *Report, refs map[string]bool, imageRef string, byPURL map[string][]string) []cdx.Vulnerability {
	var entries []cdxVulnEntry
	for _, f := range sortedFindings(r) {
		if isVulnerability(f) {
			entries = append(entries, cdxVulnEntry{f: f})
		}
	}
	for _, s := range sortedSuppressed(r) {
		if !isVulnerability(s.Finding) {
			continue
		}
		a := &cdx.VulnerabilityAnalysis{Detail: s.Reason}
		switch s.Status {
		case suppressedNotAffected:
			a.State = cdx.IASNotAffected
			a.Justification = vexToCycloneDXJustification[vexJustification(s)]
		case suppressedFixed:
			a.State = cdx.IASResolved
		default:
			continue // an ignore file's decision, not a statement about the image
		}
		entries = append(entries, cdxVulnEntry{f: s.Finding, analysis: a, source: s.Source})
	}

	// Group by id and analysis: one vulnerability carries one analysis.
	type groupKey struct {
		id                     string
		state, justif, details string
		source                 string
	}
	groups := map[groupKey][]cdxVulnEntry{}
	var keys []groupKey
	for _, e := range entries {
		k := groupKey{id: sarifRuleID(e.f.RuleID)}
		if e.analysis != nil {
			k.state, k.justif, k.details, k.source = string(e.analysis.State), string(e.analysis.Justification), e.analysis.Detail, e.source
		}
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], e)
	}
	slices.SortFunc(keys, func(a, b groupKey) int {
		return cmp.Or(cmp.Compare(a.id, b.id), cmp.Compare(a.state, b.state),
			cmp.Compare(a.justif, b.justif), cmp.Compare(a.details, b.details), cmp.Compare(a.source, b.source))
	})

	vulns := make([]cdx.Vulnerability, 0, len(keys))
	for _, k := range keys {
		group := make([]*finding.Finding, 0, len(groups[k])) // most severe first
		for _, e := range groups[k] {
			group = append(group, e.f)
		}
		ref := "vulnerability:" + k.id
		if k.state != "" {
			ref += ":" + k.state
		}
		v := cycloneDXVulnerability(k.id, group, imageRef, byPURL)
		v.BOMRef = uniqueRef(refs, ref)
		if e := groups[k][0]; e.analysis != nil {
			v.Analysis = e.analysis
			var props propertyList
			if v.Properties != nil {
				props = *v.Properties
			}
			props.add(propSuppressionSource, e.source)
			v.Properties = props.ptr()
		}
		vulns = append(vulns, v)
	}
	return vulns
}

// cycloneDXVulnerability describes one vulnerability id from its findings,
// most severe first.
func cycloneDXVulnerability(id string, group []*finding.Finding, imageRef string, byPURL map[string][]string) cdx.Vulnerability {
	top := group[0]
	var affected, refs []string
	for _, f := range group {
		affected = append(affected, byPURL[f.Attributes[FindingAttrPURL]]...)
		refs = append(refs, f.References...)
	}
	if len(affected) == 0 {
		affected = []string{imageRef}
	}
	slices.Sort(affected)
	affected = slices.Compact(affected)
	affects := make([]cdx.Affects, 0, len(affected))
	for _, ref := range affected {
		affects = append(affects, cdx.Affects{Ref: ref})
	}

	v := cdx.Vulnerability{
		ID:             id,
		Ratings:        cycloneDXRatings(group),
		Description:    firstNonEmpty(group, func(f *finding.Finding) string { return f.Title }),
		Detail:         firstNonEmpty(group, func(f *finding.Finding) string { return f.Description }),
		Recommendation: cycloneDXRecommendation(group),
		Affects:        &affects,
	}
	src := cdx.Source{Name: top.Attributes[attrSource], URL: firstHTTPURL(top.References)}
	if src.URL == "" {
		src.URL = firstHTTPURL(refs)
	}
	if src != (cdx.Source{}) {
		v.Source = &src
	}

	var aliases []string
	for _, f := range group {
		aliases = append(aliases, vulnAliases(f)...)
	}
	slices.Sort(aliases)
	aliases = slices.Compact(aliases)
	if len(aliases) > 0 {
		vrefs := make([]cdx.VulnerabilityReference, 0, len(aliases))
		for _, a := range aliases {
			if a == id {
				continue
			}
			s := vulnerabilitySource(a)
			vrefs = append(vrefs, cdx.VulnerabilityReference{ID: a, Source: &s})
		}
		if len(vrefs) > 0 {
			v.References = &vrefs
		}
	}

	var advisories []cdx.Advisory
	slices.Sort(refs)
	for _, ref := range slices.Compact(refs) {
		if firstHTTPURL([]string{ref}) != "" {
			advisories = append(advisories, cdx.Advisory{URL: ref})
		}
	}
	if len(advisories) > 0 {
		v.Advisories = &advisories
	}

	var props propertyList
	var kevs []string
	for _, f := range group {
		if k := f.Attributes[attrKEV]; k != "" && !slices.Contains(kevs, k) {
			kevs = append(kevs, k)
			props.add(propVulnKEV, k)
		}
	}
	v.Properties = props.ptr()
	return v
}

// cycloneDXRatings rates a vulnerability: one rating per distinct CVSS
// vector of its findings, with the method read off the vector, or, when
// none has a vector, the severity alone.
func cycloneDXRatings(group []*finding.Finding) *[]cdx.VulnerabilityRating {
	var ratings []cdx.VulnerabilityRating
	seen := map[string]bool{}
	for _, f := range group {
		vector := f.Attributes[attrCVSS]
		score, hasScore := cvssScore(f)
		if vector == "" && !hasScore {
			continue
		}
		key := vector + "|" + f.Attributes[attrScore]
		if seen[key] {
			continue
		}
		seen[key] = true
		rating := cdx.VulnerabilityRating{Severity: cycloneDXSeverity(f.Severity), Vector: vector}
		if hasScore {
			rating.Score = &score
		}
		if vector != "" {
			rating.Method = cvssMethod(vector)
		}
		ratings = append(ratings, rating)
	}
	if len(ratings) == 0 {
		ratings = append(ratings, cdx.VulnerabilityRating{Severity: cycloneDXSeverity(group[0].Severity)})
	}
	return &ratings
}

// cvssMethod names the CVSS version of a vector: "CVSS:4.0/...",
// "CVSS:3.1/...", "CVSS:3.0/..." or a v2 vector, which has no prefix.
func cvssMethod(vector string) cdx.ScoringMethod {
	switch {
	case strings.HasPrefix(vector, "CVSS:4.0/"):
		return cdx.ScoringMethodCVSSv4
	case strings.HasPrefix(vector, "CVSS:3.1/"):
		return cdx.ScoringMethodCVSSv31
	case strings.HasPrefix(vector, "CVSS:3.0/"):
		return cdx.ScoringMethodCVSSv3
	case strings.HasPrefix(vector, "CVSS:"):
		return cdx.ScoringMethodOther
	}
	return cdx.ScoringMethodCVSSv2
}

// cycloneDXRecommendation is "Upgrade to X." when the findings name one
// fixed version, "Upgrade P to X; Q to Y." for several, else the findings'
// remediation.
func cycloneDXRecommendation(group []*finding.Finding) string {
	type fix struct{ pkg, version string }
	var fixes []fix
	for _, f := range group {
		x := fix{f.Attributes[attrPackage], f.Attributes[attrFixed]}
		if x.version != "" && !slices.Contains(fixes, x) {
			fixes = append(fixes, x)
		}
	}
	switch {
	case len(fixes) == 0:
		return firstNonEmpty(group, func(f *finding.Finding) string { return f.Remediation })
	case !slices.ContainsFunc(fixes, func(x fix) bool { return x.version != fixes[0].version }):
		return "Upgrade to " + fixes[0].version + "."
	}
	parts := make([]string, 0, len(fixes))
	for _, x := range fixes {
		parts = append(parts, cmp.Or(x.pkg, "the package")+" to "+x.version)
	}
	return "Upgrade " + strings.Join(parts, "; ") + "."
}

// vulnerabilitySource names the database that publishes an id, by its
// prefix, with the id's page there.
func vulnerabilitySource(id string) cdx.Source {
	esc := url.PathEscape(id)
	switch {
	case strings.HasPrefix(id, "CVE-"):
		return cdx.Source{Name: "NVD", URL: "https://nvd.nist.gov/vuln/detail/" + esc}
	case strings.HasPrefix(id, "GHSA-"):
		return cdx.Source{Name: "GitHub Advisories", URL: "https://github.com/advisories/" + esc}
	case strings.HasPrefix(id, "GO-"):
		return cdx.Source{Name: "Go Vulnerability Database", URL: "https://pkg.go.dev/vuln/" + esc}
	}
	return cdx.Source{Name: "OSV", URL: "https://osv.dev/vulnerability/" + esc}
}

// cycloneDXSeverity maps a severity to CycloneDX's.
func cycloneDXSeverity(s finding.Severity) cdx.Severity {
	switch s {
	case finding.Critical:
		return cdx.SeverityCritical
	case finding.High:
		return cdx.SeverityHigh
	case finding.Medium:
		return cdx.SeverityMedium
	case finding.Low:
		return cdx.SeverityLow
	case finding.Info:
		return cdx.SeverityInfo
	}
	return cdx.SeverityUnknown
}

// propertyList collects CycloneDX properties, skipping empty values.
type propertyList []cdx.Property

func (l *propertyList) add(name, value string) {
	if value != "" {
		*l = append(*l, cdx.Property{Name: name, Value: value})
	}
}

func (l propertyList) ptr() *[]cdx.Property {
	if len(l) == 0 {
		return nil
	}
	s := []cdx.Property(l)
	return &s
}
