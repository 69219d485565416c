package report

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"

	cdx "github.com/CycloneDX/cyclonedx-go"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/picket-cdr/picket/internal/finding"
	"github.com/picket-cdr/picket/internal/inventory"
)

// cycloneDXSchemaFiles maps the ids the CycloneDX 1.6 schema refers to onto
// the copies in testdata/schema (see the README there).
var cycloneDXSchemaFiles = map[string]string{
	"http://cyclonedx.org/schema/bom-1.6.schema.json":  "bom-1.6.schema.json",
	"http://cyclonedx.org/schema/spdx.schema.json":     "spdx.schema.json",
	"http://cyclonedx.org/schema/jsf-0.82.schema.json": "jsf-0.82.schema.json",
}

// compiledCycloneDXSchema compiles the official CycloneDX 1.6 JSON schema
// once, from local files only, with format assertions on.
var compiledCycloneDXSchema = sync.OnceValues(func() (*jsonschema.Schema, error) {
	return compileLocalSchema(cycloneDXSchemaFiles, cycloneDXSchema)
})

// validateCycloneDX validates a JSON document against the CycloneDX 1.6
// schema.
func validateCycloneDX(t *testing.T, data []byte) error {
	t.Helper()
	return validateAgainst(t, "CycloneDX", compiledCycloneDXSchema, data)
}

func TestCycloneDXSchema(t *testing.T) {
	unlinked := fixture()
	unlinked.Findings[2].Attributes = nil // vulnerability falls back to the image
	dupes := fixture()
	dupes.Packages = append(dupes.Packages, dupes.Packages[0], dupes.Packages[1])
	odd := &Report{Packages: []*inventory.Package{
		{Name: "no-purl", Version: "1", Ecosystem: inventory.Maven, Licenses: []string{"LicenseRef-x", "MIT WITH Classpath-exception-2.0"}},
		{Name: "bad license", Ecosystem: inventory.RubyGems, Licenses: []string{"", "MIT AND", "GPL-2.0+"}},
		{Name: "expr only", Ecosystem: inventory.CratesIO, Licenses: []string{"MIT OR Apache-2.0", "Zlib"}},
	}, Findings: []*finding.Finding{{Kind: finding.KindVulnerability}}}

	tests := []struct {
		name string
		r    *Report
	}{
		{"fixture", fixture()},
		{"empty", &Report{}},
		{"vulnerability without purl", unlinked},
		{"duplicate packages", dupes},
		{"odd packages", odd},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := render(t, FormatCycloneDX, tt.r, Options{ToolVersion: "1.0.0"})
			if err := validateCycloneDX(t, out); err != nil {
				t.Fatalf("CycloneDX output does not validate against the 1.6 schema: %v\n%s", err, out)
			}
			checkCycloneDXRefs(t, out)
		})
	}
}

// TestCycloneDXSchemaRejects proves the schema validation is live: broken
// documents must fail it.
func TestCycloneDXSchemaRejects(t *testing.T) {
	good := render(t, FormatCycloneDX, fixture(), Options{})
	breakages := map[string]func(m map[string]any){
		"no specVersion":     func(m map[string]any) { delete(m, "specVersion") },
		"bad component type": func(m map[string]any) { m["components"].([]any)[0].(map[string]any)["type"] = "bogus" },
		"bad serial number":  func(m map[string]any) { m["serialNumber"] = "not-a-urn" },
		"unknown license id": func(m map[string]any) {
			c := m["components"].([]any)[1].(map[string]any)
			c["licenses"] = []any{map[string]any{"license": map[string]any{"id": "Not-A-License"}}}
		},
	}
	for name, breakIt := range breakages {
		t.Run(name, func(t *testing.T) {
			var m map[string]any
			if err := json.Unmarshal(good, &m); err != nil {
				t.Fatal(err)
			}
			breakIt(m)
			bad, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			if validateCycloneDX(t, bad) == nil {
				t.Fatal("broken document passed schema validation")
			}
		})
	}
}

// checkCycloneDXRefs decodes the BOM with the library's own decoder and
// checks referential integrity the schema cannot express.
func checkCycloneDXRefs(t *testing.T, data []byte) {
	t.Helper()
	var bom cdx.BOM
	if err := cdx.NewBOMDecoder(bytes.NewReader(data), cdx.BOMFileFormatJSON).Decode(&bom); err != nil {
		t.Fatalf("cyclonedx-go cannot decode the output: %v", err)
	}
	if bom.SpecVersion != cdx.SpecVersion1_6 {
		t.Errorf("specVersion = %v, want 1.6", bom.SpecVersion)
	}
	if !strings.HasPrefix(bom.SerialNumber, "urn:uuid:") {
		t.Errorf("serialNumber = %q", bom.SerialNumber)
	}
	if bom.Metadata == nil || bom.Metadata.Component == nil || bom.Metadata.Component.Type != cdx.ComponentTypeContainer {
		t.Fatal("metadata.component is not a container")
	}
	refs := map[string]bool{bom.Metadata.Component.BOMRef: true}
	for _, c := range *bom.Components {
		if c.BOMRef == "" || refs[c.BOMRef] {
			t.Errorf("component %q has an empty or duplicate bom-ref %q", c.Name, c.BOMRef)
		}
		refs[c.BOMRef] = true
	}
	deps := *bom.Dependencies
	if len(deps) != 1 || deps[0].Ref != bom.Metadata.Component.BOMRef {
		t.Fatalf("dependencies = %+v, want one entry for the image", deps)
	}
	var dependsOn []string
	if deps[0].Dependencies != nil {
		dependsOn = *deps[0].Dependencies
	}
	if len(dependsOn) != len(*bom.Components) {
		t.Errorf("image depends on %d refs, want all %d components", len(dependsOn), len(*bom.Components))
	}
	for _, ref := range dependsOn {
		if !refs[ref] {
			t.Errorf("dependsOn names unknown ref %q", ref)
		}
	}
	if bom.Vulnerabilities != nil {
		for _, v := range *bom.Vulnerabilities {
			for _, a := range *v.Affects {
				if !refs[a.Ref] {
					t.Errorf("vulnerability %s affects unknown ref %q", v.ID, a.Ref)
				}
			}
		}
	}
}

func TestCycloneDXContents(t *testing.T) {
	out := render(t, FormatCycloneDX, fixture(), Options{})
	var bom cdx.BOM
	if err := cdx.NewBOMDecoder(bytes.NewReader(out), cdx.BOMFileFormatJSON).Decode(&bom); err != nil {
		t.Fatal(err)
	}
	comps := map[string]cdx.Component{}
	for _, c := range *bom.Components {
		comps[c.Name] = c
	}
	if osc := comps["debian"]; osc.Type != cdx.ComponentTypeOS || osc.Version != "12" {
		t.Errorf("OS component = %+v", osc)
	}
	ssl := comps["libssl3"]
	if ssl.Type != cdx.ComponentTypeLibrary || ssl.PackageURL != "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12" {
		t.Errorf("libssl3 component = %+v", ssl)
	}
	if !strings.HasPrefix(ssl.BOMRef, ssl.PackageURL+"&package-id=") {
		t.Errorf("libssl3 bom-ref = %q", ssl.BOMRef)
	}
	props := map[string]string{}
	for _, p := range *ssl.Properties {
		props[p.Name] = p.Value
	}
	for name, want := range map[string]string{
		"picket:layer:index":        "0",
		"picket:layer:diffID":       fixtureLayer0,
		"picket:location:path":      "/var/lib/dpkg/status",
		"picket:package:sourceName": "openssl",
		"picket:analyzer":           "dpkg",
	} {
		if props[name] != want {
			t.Errorf("libssl3 property %s = %q, want %q", name, props[name], want)
		}
	}
	reqProps := map[string]string{}
	for _, p := range *comps["requests"].Properties {
		reqProps[p.Name] = p.Value
	}
	if reqProps["picket:package:ownedBy"] != "deb:python3-requests" {
		t.Errorf("requests ownedBy property = %q", reqProps["picket:package:ownedBy"])
	}

	// Licenses: ids, names for non-SPDX strings, expressions.
	if l := *comps["bash"].Licenses; len(l) != 2 || l[0].License.ID != "GPL-3.0-or-later" || l[1].License.Name != "GPL-3+ with Bison exception" {
		t.Errorf("bash licenses = %+v", l)
	}
	if l := *comps["@acme/widget"].Licenses; len(l) != 1 || l[0].Expression != "(MIT OR Apache-2.0)" {
		t.Errorf("@acme/widget licenses = %+v", l)
	}

	if bom.Vulnerabilities == nil || len(*bom.Vulnerabilities) != 1 {
		t.Fatalf("vulnerabilities = %+v, want the one vulnerability finding", bom.Vulnerabilities)
	}
	v := (*bom.Vulnerabilities)[0]
	if v.ID != "CVE-2024-0727" || len(*v.Affects) != 1 || (*v.Affects)[0].Ref != ssl.BOMRef {
		t.Errorf("vulnerability = %+v", v)
	}

	// No vulnerability findings, no vulnerabilities section.
	r := fixture()
	r.Findings = slices.DeleteFunc(r.Findings, func(f *finding.Finding) bool { return f.Kind == finding.KindVulnerability })
	if out := render(t, FormatCycloneDX, r, Options{}); bytes.Contains(out, []byte(`"vulnerabilities"`)) {
		t.Error("vulnerabilities section written without vulnerability findings")
	}
}
