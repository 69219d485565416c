package report

import (
	"bytes"
	"cmp"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/google/uuid"
	spdxjson "github.com/spdx/tools-golang/json"
	"github.com/spdx/tools-golang/spdx/v2/common"
	"github.com/spdx/tools-golang/spdx/v2/v2_3"

	"github.com/picket-cdr/picket/internal/inventory"
)

// spdxNoAssertion is SPDX's "no attempt was made to determine this".
const spdxNoAssertion = "NOASSERTION"

// spdxNamespacePrefix starts every document namespace Picket mints.
const spdxNamespacePrefix = "https://picket.dev/spdx/"

// spdxIDUnsafe matches characters SPDX identifiers may not contain.
var spdxIDUnsafe = regexp.MustCompile(`[^A-Za-z0-9.-]+`)

// writeSPDX renders the inventory as an SPDX 2.3 JSON document: a root
// package for the image that the document DESCRIBES, which CONTAINS the
// operating system and one package per inventory package.
func writeSPDX(w io.Writer, r *Report, opts Options) error {
	doc := spdxDocument(r, opts)

	// The namespace must be unique per document: derive its UUID from the
	// rest of the document, so equal input yields an equal namespace.
	var buf bytes.Buffer
	if err := encodeSPDX(&buf, doc); err != nil {
		return err
	}
	// spdxIDPart's alphabet is also safe in a URI path segment.
	doc.DocumentNamespace = spdxNamespacePrefix + spdxIDPart(doc.DocumentName) + "-" +
		uuid.NewSHA1(uuidNamespace, buf.Bytes()).String()
	buf.Reset()
	if err := encodeSPDX(&buf, doc); err != nil {
		return err
	}
	return writeBuffered(w, &buf)
}

func encodeSPDX(w io.Writer, doc *v2_3.Document) error {
	return spdxjson.Write(doc, w, spdxjson.Indent("  "), spdxjson.EscapeHTML(false))
}

// spdxDocument builds the document for r, without a namespace.
func spdxDocument(r *Report, opts Options) *v2_3.Document {
	t := r.Target
	name := cmp.Or(t.Name, t.ImageID, "image")
	creator := "picket"
	if v := toolVersion(r, opts); v != "" {
		creator += "-" + v
	}

	used := map[string]bool{"DOCUMENT": true}
	root := &v2_3.Package{
		PackageName:             name,
		PackageSPDXIdentifier:   common.ElementID(uniqueRef(used, "Image-"+spdxIDPart(name))),
		PackageVersion:          cmp.Or(t.Digest, t.ImageID),
		PackageDownloadLocation: spdxNoAssertion,
		FilesAnalyzed:           false,
		PackageLicenseConcluded: spdxNoAssertion,
		PackageLicenseDeclared:  spdxNoAssertion,
		PackageComment:          spdxImageComment(t),
		PrimaryPackagePurpose:   "CONTAINER",
	}
	pkgs := []*v2_3.Package{root}
	rels := []*v2_3.Relationship{{
		RefA:         common.MakeDocElementID("", "DOCUMENT"),
		RefB:         common.MakeDocElementID("", string(root.PackageSPDXIdentifier)),
		Relationship: common.TypeRelationshipDescribe,
	}}
	contains := func(p *v2_3.Package) {
		pkgs = append(pkgs, p)
		rels = append(rels, &v2_3.Relationship{
			RefA:         common.MakeDocElementID("", string(root.PackageSPDXIdentifier)),
			RefB:         common.MakeDocElementID("", string(p.PackageSPDXIdentifier)),
			Relationship: common.TypeRelationshipContains,
		})
	}

	if d := t.Distro; !d.Empty() {
		// SPDX JSON spells the purpose with an underscore: OPERATING-SYSTEM
		// is the tag-value form, which the SPDX 2.3 JSON schema rejects.
		contains(&v2_3.Package{
			PackageName:             d.ID,
			PackageSPDXIdentifier:   common.ElementID(uniqueRef(used, "OperatingSystem-"+spdxIDPart(strings.Trim(d.ID+"-"+d.VersionID, "-")))),
			PackageVersion:          d.VersionID,
			PackageDownloadLocation: spdxNoAssertion,
			FilesAnalyzed:           false,
			PackageLicenseConcluded: spdxNoAssertion,
			PackageLicenseDeclared:  spdxNoAssertion,
			PackageDescription:      d.PrettyName,
			PrimaryPackagePurpose:   "OPERATING_SYSTEM",
		})
	}
	for _, p := range sortedPackages(r) {
		contains(spdxPackage(p, used))
	}

	return &v2_3.Document{
		SPDXVersion:    v2_3.Version,
		DataLicense:    v2_3.DataLicense,
		SPDXIdentifier: "DOCUMENT",
		DocumentName:   name,
		CreationInfo: &v2_3.CreationInfo{
			LicenseListVersion: spdxLicenseListVersion,
			Creators:           []common.Creator{{CreatorType: "Tool", Creator: creator}},
			Created:            createdAt(r).Format("2006-01-02T15:04:05Z"),
		},
		Packages:      pkgs,
		Relationships: rels,
	}
}

// spdxPackage converts one inventory package, reserving its SPDX id in used.
func spdxPackage(p *inventory.Package, used map[string]bool) *v2_3.Package {
	id := "Package-" + spdxIDPart(string(p.Ecosystem)) + "-" + spdxIDPart(p.Name) + "-" + packageID(p)
	out := &v2_3.Package{
		PackageName:             cmp.Or(p.Name, "unnamed"), // SPDX requires a name
		PackageSPDXIdentifier:   common.ElementID(uniqueRef(used, id)),
		PackageVersion:          p.Version,
		PackageDownloadLocation: spdxNoAssertion,
		FilesAnalyzed:           false,
		PackageLicenseConcluded: spdxNoAssertion,
		PackageLicenseDeclared:  spdxLicenseDeclared(p.Licenses),
		PackageComment:          spdxPackageComment(p),
	}
	if p.SourceName != "" {
		out.PackageSourceInfo = strings.TrimSpace("built from source package " + p.SourceName + " " + p.SourceVersion)
	}
	if p.PURL != "" && !strings.ContainsAny(p.PURL, " \t\n") {
		out.PackageExternalReferences = []*v2_3.PackageExternalReference{{
			Category: common.CategoryPackageManager,
			RefType:  common.TypePackageManagerPURL,
			Locator:  p.PURL,
		}}
	}
	return out
}

// spdxLicenseDeclared is the declared license expression of a package, or
// NOASSERTION unless every license string is a valid SPDX expression of
// listed identifiers.
func spdxLicenseDeclared(licenses []string) string {
	exprs, valid := declaredLicenses(licenses)
	if !valid || len(exprs) == 0 {
		return spdxNoAssertion
	}
	return joinLicenses(exprs)
}

// spdxImageComment records the image facts SPDX has no field for.
func spdxImageComment(t Target) string {
	var parts []string
	add := func(k, v string) {
		if v != "" {
			parts = append(parts, k+": "+v)
		}
	}
	add("kind", t.Kind)
	add("source", t.Source)
	add("image id", t.ImageID)
	add("digest", t.Digest)
	add("repo tags", strings.Join(t.RepoTags, ", "))
	add("platform", strings.Trim(t.OS+"/"+t.Architecture, "/"))
	if len(t.Layers) > 0 {
		parts = append(parts, fmt.Sprintf("layers: %d", len(t.Layers)))
	}
	return strings.Join(parts, "; ")
}

// spdxPackageComment records where Picket found a package.
func spdxPackageComment(p *inventory.Package) string {
	var b strings.Builder
	b.WriteString("found by picket")
	if p.Analyzer != "" {
		b.WriteString(" analyzer " + p.Analyzer)
	}
	if p.Path != "" {
		b.WriteString(" at " + p.Path)
	}
	fmt.Fprintf(&b, " in layer %d", p.Layer)
	if p.LayerDiffID != "" {
		b.WriteString(" (" + p.LayerDiffID + ")")
	}
	if p.OwnedBy != "" {
		b.WriteString("; owned by " + p.OwnedBy)
	}
	return b.String()
}

// spdxIDPart makes s usable inside an SPDX identifier, which allows only
// letters, digits, "." and "-".
func spdxIDPart(s string) string {
	s = strings.Trim(spdxIDUnsafe.ReplaceAllString(s, "-"), "-")
	if s == "" {
		return "unnamed"
	}
	return s
}
