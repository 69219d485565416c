package report

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"io"
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
	if vulns := cycloneDXVulnerabilities(r, image.BOMRef, byPURL); len(vulns) > 0 {
		bom.Vulnerabilities = &vulns
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

// cycloneDXVulnerabilities lists one vulnerability per rule id of the
// vulnerability findings, affecting the components named by the findings'
// purl attribute, or the image when none matches.
func cycloneDXVulnerabilities(r *Report, imageRef string, byPURL map[string][]string) []cdx.Vulnerability {
	groups := map[string][]*finding.Finding{}
	var ids []string
	for _, f := range sortedFindings(r) {
		if f.Kind != finding.KindVulnerability {
			continue
		}
		id := sarifRuleID(f.RuleID)
		if _, ok := groups[id]; !ok {
			ids = append(ids, id)
		}
		groups[id] = append(groups[id], f)
	}
	slices.Sort(ids)

	vulns := make([]cdx.Vulnerability, 0, len(ids))
	for _, id := range ids {
		group := groups[id] // most severe first
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
			BOMRef:         "vulnerability:" + id,
			ID:             id,
			Ratings:        &[]cdx.VulnerabilityRating{{Severity: cycloneDXSeverity(group[0].Severity)}},
			Description:    firstNonEmpty(group, func(f *finding.Finding) string { return f.Title }),
			Detail:         firstNonEmpty(group, func(f *finding.Finding) string { return f.Description }),
			Recommendation: firstNonEmpty(group, func(f *finding.Finding) string { return f.Remediation }),
			Affects:        &affects,
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
		vulns = append(vulns, v)
	}
	return vulns
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
