package report

import (
	"bytes"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	spdxjson "github.com/spdx/tools-golang/json"
	"github.com/spdx/tools-golang/spdx/v2/common"
	"github.com/spdx/tools-golang/spdx/v2/v2_3"
	"github.com/spdx/tools-golang/spdxlib"

	"github.com/picket-cdr/picket/internal/inventory"
)

var (
	spdxIDPattern   = regexp.MustCompile(`^SPDXRef-[a-zA-Z0-9.-]+$`)
	spdxDatePattern = regexp.MustCompile(`^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T(([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]|23:59:60)Z$`)
	spdxCreator     = regexp.MustCompile(`^(Tool|Organization|Person): \S.*$`)
)

// Properties SPDX 2.3 JSON allows on each object Picket writes.
var (
	spdxDocumentKeys = []string{
		"$schema", "SPDXID", "annotations", "comment", "creationInfo", "dataLicense",
		"externalDocumentRefs", "hasExtractedLicensingInfos", "name", "revieweds",
		"spdxVersion", "documentNamespace", "documentDescribes", "packages", "files",
		"snippets", "relationships",
	}
	spdxCreationInfoKeys = []string{"comment", "created", "creators", "licenseListVersion"}
	spdxPackageKeys      = []string{
		"SPDXID", "annotations", "attributionTexts", "builtDate", "checksums", "comment",
		"copyrightText", "description", "downloadLocation", "externalRefs", "filesAnalyzed",
		"hasFiles", "homepage", "licenseComments", "licenseConcluded", "licenseDeclared",
		"licenseInfoFromFiles", "name", "originator", "packageFileName",
		"packageVerificationCode", "primaryPackagePurpose", "releaseDate", "sourceInfo",
		"summary", "supplier", "validUntilDate", "versionInfo",
	}
	spdxExternalRefKeys   = []string{"comment", "referenceCategory", "referenceLocator", "referenceType"}
	spdxRelationshipKeys  = []string{"comment", "relatedSpdxElement", "relationshipType", "spdxElementId"}
	spdxRefCategories     = []string{"OTHER", "PERSISTENT-ID", "PERSISTENT_ID", "SECURITY", "PACKAGE-MANAGER", "PACKAGE_MANAGER"}
	spdxPackagePurposes   = []string{"OTHER", "INSTALL", "ARCHIVE", "FIRMWARE", "APPLICATION", "FRAMEWORK", "LIBRARY", "CONTAINER", "SOURCE", "DEVICE", "OPERATING_SYSTEM", "FILE"}
	spdxRelationshipTypes = []string{
		"VARIANT_OF", "COPY_OF", "PATCH_FOR", "TEST_DEPENDENCY_OF", "CONTAINED_BY", "DATA_FILE_OF",
		"OPTIONAL_COMPONENT_OF", "ANCESTOR_OF", "GENERATES", "CONTAINS", "OPTIONAL_DEPENDENCY_OF",
		"FILE_ADDED", "REQUIREMENT_DESCRIPTION_FOR", "DEV_DEPENDENCY_OF", "DEPENDENCY_OF",
		"BUILD_DEPENDENCY_OF", "DESCRIBES", "PREREQUISITE_FOR", "HAS_PREREQUISITE", "PROVIDED_DEPENDENCY_OF",
		"DYNAMIC_LINK", "DESCRIBED_BY", "METAFILE_OF", "DEPENDENCY_MANIFEST_OF", "PATCH_APPLIED",
		"RUNTIME_DEPENDENCY_OF", "TEST_OF", "TEST_TOOL_OF", "DEPENDS_ON", "SPECIFICATION_FOR",
		"FILE_MODIFIED", "DISTRIBUTION_ARTIFACT", "AMENDS", "DOCUMENTATION_OF", "GENERATED_FROM",
		"STATIC_LINK", "OTHER", "BUILD_TOOL_OF", "TEST_CASE_OF", "PACKAGE_OF", "DESCENDANT_OF",
		"FILE_DELETED", "EXPANDED_FROM_ARCHIVE", "DEV_TOOL_OF", "EXAMPLE_OF",
	}
)

// spdxChecker accumulates validation problems.
type spdxChecker struct{ problemList }

// keys reports properties of obj outside allowed.
func (c *spdxChecker) keys(where string, obj map[string]any, allowed []string) {
	for k := range obj {
		if !slices.Contains(allowed, k) {
			c.errorf("%s: property %q is not allowed", where, k)
		}
	}
}

// objects checks that each element of list, the array at where, is an
// object with only allowed properties, and calls visit on each that is.
func (c *spdxChecker) objects(where string, list []any, allowed []string, visit func(where string, obj map[string]any)) {
	for i, raw := range list {
		w := fmt.Sprintf("%s[%d]", where, i)
		obj, ok := raw.(map[string]any)
		if !ok {
			c.errorf("%s is not an object", w)
			continue
		}
		c.keys(w, obj, allowed)
		visit(w, obj)
	}
}

// str returns obj[key] as a string, reporting a missing (when required) or
// non-string value.
func (c *spdxChecker) str(where string, obj map[string]any, key string, required bool) string {
	v, ok := obj[key]
	if !ok {
		if required {
			c.errorf("%s: required property %q missing", where, key)
		}
		return ""
	}
	s, ok := v.(string)
	if !ok {
		c.errorf("%s: %q is %T, want string", where, key, v)
	}
	return s
}

// licenseField checks a license expression field.
func (c *spdxChecker) licenseField(where, s string) {
	if s == "" || s == "NOASSERTION" || s == "NONE" {
		return
	}
	if _, ok := parseLicenseExpression(s); !ok {
		c.errorf("%s: %q is not a license expression of listed SPDX ids", where, s)
	}
}

// externalRef checks a package's external reference ref at where.
func (c *spdxChecker) externalRef(where string, ref map[string]any) {
	cat := c.str(where, ref, "referenceCategory", true)
	if !slices.Contains(spdxRefCategories, cat) {
		c.errorf("%s: referenceCategory %q not allowed", where, cat)
	}
	typ := c.str(where, ref, "referenceType", true)
	loc := c.str(where, ref, "referenceLocator", true)
	if loc == "" || strings.ContainsAny(loc, " \t\n") {
		c.errorf("%s: referenceLocator %q must be non-empty without spaces", where, loc)
	}
	if typ == "purl" && (cat != "PACKAGE-MANAGER" || !strings.HasPrefix(loc, "pkg:")) {
		c.errorf("%s: purl reference %q/%q malformed", where, cat, loc)
	}
}

// validateSPDX23 returns the problems found in an SPDX 2.3 JSON document.
// The official SPDX 2.3 JSON schema only types the properties, lists the
// allowed ones and the enumerations, so validateSPDX23 also checks, by
// hand, what the SPDX 2.3 specification adds: documentNamespace (required
// by the specification but not by the 2.3 schema), identifier and date
// patterns, license expressions and referential integrity. The document
// must also decode with tools-golang's own reader and pass
// spdxlib.ValidateDocument.
func validateSPDX23(data []byte) []string {
	c := &spdxChecker{}
	var doc map[string]any
	if err := decodeNumbers(data, &doc); err != nil {
		return []string{"not JSON: " + err.Error()}
	}

	c.keys("document", doc, spdxDocumentKeys)
	if v := c.str("document", doc, "spdxVersion", true); v != "SPDX-2.3" {
		c.errorf("spdxVersion = %q, want SPDX-2.3", v)
	}
	if v := c.str("document", doc, "dataLicense", true); v != "CC0-1.0" {
		c.errorf("dataLicense = %q, want CC0-1.0", v)
	}
	if v := c.str("document", doc, "SPDXID", true); v != "SPDXRef-DOCUMENT" {
		c.errorf("SPDXID = %q, want SPDXRef-DOCUMENT", v)
	}
	if c.str("document", doc, "name", true) == "" {
		c.errorf("document name is empty")
	}
	ns := c.str("document", doc, "documentNamespace", true)
	if u, err := url.Parse(ns); err != nil || !u.IsAbs() || u.Fragment != "" || strings.Contains(ns, "#") {
		c.errorf("documentNamespace %q is not an absolute URI without fragment", ns)
	}

	if ci, ok := doc["creationInfo"].(map[string]any); !ok {
		c.errorf("creationInfo missing or not an object")
	} else {
		c.keys("creationInfo", ci, spdxCreationInfoKeys)
		if created := c.str("creationInfo", ci, "created", true); !spdxDatePattern.MatchString(created) {
			c.errorf("creationInfo.created %q does not match the SPDX date pattern", created)
		}
		creators, _ := ci["creators"].([]any)
		if len(creators) == 0 {
			c.errorf("creationInfo.creators must have at least one item")
		}
		for _, cr := range creators {
			if s, _ := cr.(string); !spdxCreator.MatchString(s) {
				c.errorf("creator %q is not Tool:/Organization:/Person:", cr)
			}
		}
	}

	ids := map[string]bool{"SPDXRef-DOCUMENT": true}
	pkgs, _ := doc["packages"].([]any)
	c.objects("packages", pkgs, spdxPackageKeys, func(where string, p map[string]any) {
		id := c.str(where, p, "SPDXID", true)
		if !spdxIDPattern.MatchString(id) {
			c.errorf("%s: SPDXID %q does not match %s", where, id, spdxIDPattern)
		}
		if ids[id] {
			c.errorf("%s: duplicate SPDXID %q", where, id)
		}
		ids[id] = true
		if c.str(where, p, "name", true) == "" {
			c.errorf("%s: empty name", where)
		}
		if c.str(where, p, "downloadLocation", true) == "" {
			c.errorf("%s: empty downloadLocation", where)
		}
		if fa, ok := p["filesAnalyzed"]; ok {
			if b, isBool := fa.(bool); !isBool {
				c.errorf("%s: filesAnalyzed is %T, want bool", where, fa)
			} else if !b && (p["hasFiles"] != nil || p["packageVerificationCode"] != nil) {
				c.errorf("%s: filesAnalyzed false but files listed", where)
			}
		}
		c.licenseField(where+".licenseConcluded", c.str(where, p, "licenseConcluded", false))
		c.licenseField(where+".licenseDeclared", c.str(where, p, "licenseDeclared", false))
		if purpose := c.str(where, p, "primaryPackagePurpose", false); purpose != "" && !slices.Contains(spdxPackagePurposes, purpose) {
			c.errorf("%s: primaryPackagePurpose %q not allowed", where, purpose)
		}
		refs, _ := p["externalRefs"].([]any)
		c.objects(where+".externalRefs", refs, spdxExternalRefKeys, c.externalRef)
	})

	rels, _ := doc["relationships"].([]any)
	describes := 0
	c.objects("relationships", rels, spdxRelationshipKeys, func(where string, r map[string]any) {
		a := c.str(where, r, "spdxElementId", true)
		b := c.str(where, r, "relatedSpdxElement", true)
		typ := c.str(where, r, "relationshipType", true)
		if !slices.Contains(spdxRelationshipTypes, typ) {
			c.errorf("%s: relationshipType %q not allowed", where, typ)
		}
		if !ids[a] {
			c.errorf("%s: spdxElementId %q names no element", where, a)
		}
		if !ids[b] && b != "NONE" && b != "NOASSERTION" {
			c.errorf("%s: relatedSpdxElement %q names no element", where, b)
		}
		if a == "SPDXRef-DOCUMENT" && typ == "DESCRIBES" {
			describes++
		}
	})
	if describes == 0 {
		c.errorf("the document DESCRIBES nothing")
	}

	// The reference implementation must read it back and agree.
	parsed, err := spdxjson.Read(bytes.NewReader(data))
	if err != nil {
		c.errorf("tools-golang cannot read the document: %v", err)
	} else {
		if parsed.SPDXVersion != v2_3.Version {
			c.errorf("tools-golang read version %q", parsed.SPDXVersion)
		}
		if err := spdxlib.ValidateDocument(parsed); err != nil {
			c.errorf("spdxlib.ValidateDocument: %v", err)
		}
		if len(parsed.Packages) != len(pkgs) || len(parsed.Relationships) != len(rels) {
			c.errorf("tools-golang read %d packages and %d relationships, want %d and %d",
				len(parsed.Packages), len(parsed.Relationships), len(pkgs), len(rels))
		}
	}
	return c.errs
}

func TestSPDXValid(t *testing.T) {
	dupes := fixture()
	dupes.Packages = append(dupes.Packages, dupes.Packages[0], dupes.Packages[0])
	odd := &Report{
		Target: Target{Name: "weird name/with:chars_and spaces"},
		Packages: []*inventory.Package{
			{Name: "", Ecosystem: ""},
			{Name: "ünïcode", Version: "1", Ecosystem: inventory.Packagist, PURL: "pkg:composer/x/y@1", Licenses: []string{"MIT WITH Classpath-exception-2.0", "GPL-2.0+"}},
			{Name: "spaces purl", PURL: "not a purl", Licenses: []string{"LicenseRef-custom"}},
		},
	}
	testValid(t, FormatSPDX, Options{}, map[string]*Report{"duplicate packages": dupes, "odd names": odd})
}

// Parts of the rendered fixture's SPDX document that the rejection tests
// break.
func spdxPackageIn(doc map[string]any, i int) map[string]any      { return at(doc, "packages", i) }
func spdxRelationshipIn(doc map[string]any, i int) map[string]any { return at(doc, "relationships", i) }

// TestSPDXSchemaRejects proves the schema validation is live: broken
// documents must fail it.
func TestSPDXSchemaRejects(t *testing.T) {
	testRejects(t, FormatSPDX, spdxJSONSchema.check(), map[string]func(m map[string]any){
		"no SPDXID":           func(m map[string]any) { delete(m, "SPDXID") },
		"no creationInfo":     func(m map[string]any) { delete(m, "creationInfo") },
		"no creators":         func(m map[string]any) { at(m, "creationInfo")["creators"] = []any{} },
		"no downloadLocation": func(m map[string]any) { delete(spdxPackageIn(m, 2), "downloadLocation") },
		"extra property":      func(m map[string]any) { spdxPackageIn(m, 2)["purl"] = "pkg:x/y" },
		// The tag-value spelling, which SPDX JSON does not allow.
		"tag-value purpose": func(m map[string]any) { spdxPackageIn(m, 1)["primaryPackagePurpose"] = "OPERATING-SYSTEM" },
		"bad reference category": func(m map[string]any) {
			at(spdxPackageIn(m, 2), "externalRefs", 0)["referenceCategory"] = "PURL"
		},
		"bad relationship type":  func(m map[string]any) { spdxRelationshipIn(m, 0)["relationshipType"] = "HAS" },
		"filesAnalyzed not bool": func(m map[string]any) { spdxPackageIn(m, 0)["filesAnalyzed"] = "false" },
	})
}

// TestSPDXValidatorRejects proves the structural validation is live.
func TestSPDXValidatorRejects(t *testing.T) {
	testRejects(t, FormatSPDX, spdxConstraints, map[string]func(m map[string]any){
		"wrong version":      func(m map[string]any) { m["spdxVersion"] = "SPDX-2.2" },
		"no namespace":       func(m map[string]any) { delete(m, "documentNamespace") },
		"fractional created": func(m map[string]any) { at(m, "creationInfo")["created"] = "2025-03-14T09:26:53.5Z" },
		"bad SPDXID":         func(m map[string]any) { spdxPackageIn(m, 1)["SPDXID"] = "SPDXRef-a/b" },
		"extra property":     func(m map[string]any) { spdxPackageIn(m, 1)["purl"] = "pkg:x/y" },
		"dangling relationship": func(m map[string]any) {
			spdxRelationshipIn(m, 1)["relatedSpdxElement"] = "SPDXRef-nowhere"
		},
		"bad license":  func(m map[string]any) { spdxPackageIn(m, 2)["licenseDeclared"] = "GPL-3+" },
		"no describes": func(m map[string]any) { m["relationships"] = m["relationships"].([]any)[1:] },
	})
}

func TestSPDXContents(t *testing.T) {
	out := render(t, FormatSPDX, fixture(), Options{ToolVersion: "2.0.0"})
	doc, err := spdxjson.Read(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	if doc.DocumentName != "registry.example.com/shop/api:1.4.2" {
		t.Errorf("name = %q", doc.DocumentName)
	}
	if !regexp.MustCompile(`^https://picket\.dev/spdx/registry\.example\.com-shop-api-1\.4\.2-[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(doc.DocumentNamespace) {
		t.Errorf("namespace = %q", doc.DocumentNamespace)
	}
	if got := doc.CreationInfo.Creators; len(got) != 1 || got[0] != (common.Creator{CreatorType: "Tool", Creator: "picket-2.0.0"}) {
		t.Errorf("creators = %+v", got)
	}

	byName := map[string]*v2_3.Package{}
	for _, p := range doc.Packages {
		byName[p.PackageName] = p
	}
	if len(doc.Packages) != 1+1+len(fixture().Packages) {
		t.Errorf("%d packages, want image + OS + %d", len(doc.Packages), len(fixture().Packages))
	}
	ssl := byName["libssl3"]
	if ssl == nil {
		t.Fatal("no libssl3 package")
	}
	if !strings.HasPrefix(string(ssl.PackageSPDXIdentifier), "Package-Debian-libssl3-") {
		t.Errorf("libssl3 SPDXID = %q", ssl.PackageSPDXIdentifier)
	}
	if ssl.FilesAnalyzed || ssl.PackageDownloadLocation != "NOASSERTION" || ssl.PackageLicenseConcluded != "NOASSERTION" {
		t.Errorf("libssl3 = %+v", ssl)
	}
	if len(ssl.PackageExternalReferences) != 1 || ssl.PackageExternalReferences[0].RefType != "purl" ||
		ssl.PackageExternalReferences[0].Locator != "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12" {
		t.Errorf("libssl3 externalRefs = %+v", ssl.PackageExternalReferences)
	}
	for name, want := range map[string]string{
		"libssl3":      "Apache-2.0",
		"bash":         "NOASSERTION", // "GPL-3+ with Bison exception" is no SPDX id
		"@acme/widget": "(MIT OR Apache-2.0)",
	} {
		if got := byName[name].PackageLicenseDeclared; got != want {
			t.Errorf("%s licenseDeclared = %q, want %q", name, got, want)
		}
	}

	root := byName["registry.example.com/shop/api:1.4.2"]
	var contains int
	for _, r := range doc.Relationships {
		switch {
		case r.Relationship == "DESCRIBES":
			if r.RefA.ElementRefID != "DOCUMENT" || r.RefB.ElementRefID != root.PackageSPDXIdentifier {
				t.Errorf("DESCRIBES %+v", r)
			}
		case r.Relationship == "CONTAINS" && r.RefA.ElementRefID == root.PackageSPDXIdentifier:
			contains++
		}
	}
	if contains != len(doc.Packages)-1 {
		t.Errorf("image CONTAINS %d packages, want %d", contains, len(doc.Packages)-1)
	}
}
