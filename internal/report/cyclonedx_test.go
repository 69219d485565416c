package report

import (
	"bytes"
	"reflect"
	"slices"
	"strings"
	"testing"

	cdx "github.com/CycloneDX/cyclonedx-go"

	"github.com/picket-cdr/picket/internal/finding"
	"github.com/picket-cdr/picket/internal/inventory"
)

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

	// The same ids both found and suppressed, by VEX fixed, by VEX
	// not_affected without or with an unknown justification, and by a VEX
	// statement with a status Picket does not know; odd ratings.
	vex := fixture()
	for _, f := range vex.Findings {
		if f.Kind != finding.KindVulnerability {
			continue
		}
		vex.Suppressed = append(vex.Suppressed,
			&Suppressed{Finding: f, Source: "vex:a.json", Status: "fixed", Reason: "fixed"},
			&Suppressed{Finding: f, Source: "vex:a.json", Status: "not_affected", Reason: "not_affected"},
			&Suppressed{Finding: f, Source: "vex:b.json", Status: "not_affected", Reason: "not_affected: no_such_label — x"},
			&Suppressed{Finding: f, Source: "vex:c.json", Status: "under_investigation", Reason: "?"},
		)
	}
	vex.Findings = append(vex.Findings,
		&finding.Finding{Kind: finding.KindVulnerability, RuleID: "CVE-0000-0001", Attributes: map[string]string{attrCVSS: "AV:N/AC:L/Au:N/C:P/I:P/A:P", attrScore: "7.5"}},
		&finding.Finding{Kind: finding.KindVulnerability, RuleID: "CVE-0000-0002", Attributes: map[string]string{attrCVSS: "CVSS:5.0/X:Y", attrScore: "-1"}},
		&finding.Finding{Kind: finding.KindVulnerability, RuleID: "CVE-0000-0003", Attributes: map[string]string{attrScore: "3.1", attrIDs: "CVE-0000-0003,,RUSTSEC-2020-0001 "}},
	)
	vex.VulnDB = &VulnDB{Status: "missing"}

	testValid(t, FormatCycloneDX, Options{ToolVersion: "1.0.0"}, map[string]*Report{
		"vulnerability without purl":   unlinked,
		"duplicate packages":           dupes,
		"odd packages":                 odd,
		"suppressions and odd ratings": vex,
	})
}

// TestCycloneDXSchemaRejects proves the schema validation is live: broken
// documents must fail it.
func TestCycloneDXSchemaRejects(t *testing.T) {
	testRejects(t, FormatCycloneDX, cycloneDXJSONSchema.check(), map[string]func(m map[string]any){
		"no specVersion":     func(m map[string]any) { delete(m, "specVersion") },
		"bad component type": func(m map[string]any) { at(m, "components", 0)["type"] = "bogus" },
		"bad serial number":  func(m map[string]any) { m["serialNumber"] = "not-a-urn" },
		"unknown license id": func(m map[string]any) {
			at(m, "components", 1)["licenses"] = []any{map[string]any{"license": map[string]any{"id": "Not-A-License"}}}
		},
	})
}

// decodeBOM decodes a CycloneDX JSON BOM with cyclonedx-go's own decoder,
// failing the test if it cannot.
func decodeBOM(t *testing.T, data []byte) cdx.BOM {
	t.Helper()
	var bom cdx.BOM
	if err := cdx.NewBOMDecoder(bytes.NewReader(data), cdx.BOMFileFormatJSON).Decode(&bom); err != nil {
		t.Fatalf("cyclonedx-go cannot decode the output: %v", err)
	}
	return bom
}

// checkCycloneDXRefs decodes the BOM with the library's own decoder and
// checks referential integrity the schema cannot express.
func checkCycloneDXRefs(t *testing.T, data []byte) {
	t.Helper()
	bom := decodeBOM(t, data)
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
	bom := decodeBOM(t, render(t, FormatCycloneDX, fixture(), Options{}))
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

	// The four vulnerability findings and the VEX not_affected one; the
	// ignore file's CVE-2022-3715 is local policy and stays out.
	if bom.Vulnerabilities == nil {
		t.Fatal("no vulnerabilities")
	}
	vulns := map[string]cdx.Vulnerability{}
	var ids []string
	for _, v := range *bom.Vulnerabilities {
		vulns[v.ID] = v
		ids = append(ids, v.ID)
	}
	if want := []string{"CVE-2023-5678", "CVE-2024-0727", "CVE-2024-45337", "CVE-2025-26519", "GO-2025-3487"}; !slices.Equal(ids, want) {
		t.Fatalf("vulnerability ids = %q, want %q", ids, want)
	}
	v := vulns["CVE-2024-0727"]
	if len(*v.Affects) != 1 || (*v.Affects)[0].Ref != ssl.BOMRef || v.BOMRef != "vulnerability:CVE-2024-0727" || v.Analysis != nil {
		t.Errorf("CVE-2024-0727 = %+v", v)
	}
	if r := *v.Ratings; len(r) != 1 || r[0] != (cdx.VulnerabilityRating{Severity: cdx.SeverityHigh}) {
		t.Errorf("CVE-2024-0727 ratings = %+v, want the severity alone", r)
	}
	if v.Source == nil || *v.Source != (cdx.Source{Name: "debian", URL: "https://nvd.nist.gov/vuln/detail/CVE-2024-0727"}) {
		t.Errorf("CVE-2024-0727 source = %+v", v.Source)
	}
	if v.Recommendation != "Upgrade to 3.0.13-1~deb12u1." {
		t.Errorf("CVE-2024-0727 recommendation = %q", v.Recommendation)
	}

	kev := vulns["CVE-2024-45337"]
	score := 9.1
	wantRating := cdx.VulnerabilityRating{Score: &score, Severity: cdx.SeverityCritical, Method: cdx.ScoringMethodCVSSv31, Vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:N"}
	if r := *kev.Ratings; len(r) != 1 || !reflect.DeepEqual(r[0], wantRating) {
		t.Errorf("CVE-2024-45337 ratings = %+v", r)
	}
	if kev.Properties == nil || !slices.Contains(*kev.Properties, cdx.Property{Name: "picket:vulnerability:kev", Value: "CVE-2024-45337 (added 2025-01-08)"}) {
		t.Errorf("CVE-2024-45337 properties = %+v, want the KEV entry", kev.Properties)
	}
	if kev.Advisories == nil || len(*kev.Advisories) != 2 || (*kev.Affects)[0].Ref != comps["golang.org/x/crypto"].BOMRef {
		t.Errorf("CVE-2024-45337 = %+v", kev)
	}

	goVuln := vulns["GO-2025-3487"]
	var refIDs []string
	for _, r := range *goVuln.References {
		refIDs = append(refIDs, r.ID)
	}
	if !slices.Equal(refIDs, []string{"CVE-2025-22869", "CVE-2025-22870", "GHSA-hcg3-q754-cr77"}) {
		t.Errorf("GO-2025-3487 references = %q", refIDs)
	}
	if r := (*goVuln.References)[0]; r.Source == nil || *r.Source != (cdx.Source{Name: "NVD", URL: "https://nvd.nist.gov/vuln/detail/CVE-2025-22869"}) {
		t.Errorf("CVE reference source = %+v", r.Source)
	}
	if m := (*goVuln.Ratings)[0].Method; m != cdx.ScoringMethodCVSSv4 {
		t.Errorf("GO-2025-3487 rating method = %q", m)
	}

	if u := vulns["CVE-2025-26519"]; u.Recommendation != "No fixed version is known yet." || (*u.Ratings)[0].Severity != cdx.SeverityUnknown {
		t.Errorf("CVE-2025-26519 = %+v", u)
	}

	na := vulns["CVE-2023-5678"]
	wantAnalysis := cdx.VulnerabilityAnalysis{
		State:         cdx.IASNotAffected,
		Justification: cdx.IAJCodeNotReachable,
		Detail:        "not_affected: vulnerable_code_not_in_execute_path — the service never generates or checks X9.42 DH keys",
	}
	if na.Analysis == nil || *na.Analysis != wantAnalysis || na.BOMRef != "vulnerability:CVE-2023-5678:not_affected" {
		t.Errorf("CVE-2023-5678 = %+v analysis %+v", na, na.Analysis)
	}
	if na.Properties == nil || !slices.Contains(*na.Properties, cdx.Property{Name: "picket:suppression:source", Value: "vex:security/api.openvex.json"}) {
		t.Errorf("CVE-2023-5678 properties = %+v", na.Properties)
	}

	if bom.Metadata.Properties == nil || !slices.Contains(*bom.Metadata.Properties, cdx.Property{Name: "picket:vulndb:status", Value: "ok"}) {
		t.Errorf("metadata properties = %+v", bom.Metadata.Properties)
	}

	// No vulnerability findings and no VEX statements about any, no
	// vulnerabilities section.
	r := fixture()
	r.Findings = slices.DeleteFunc(r.Findings, func(f *finding.Finding) bool { return f.Kind == finding.KindVulnerability })
	r.Suppressed = slices.DeleteFunc(r.Suppressed, func(s *Suppressed) bool { return s.Status == "not_affected" })
	if out := render(t, FormatCycloneDX, r, Options{}); bytes.Contains(out, []byte(`"vulnerabilities"`)) {
		t.Error("vulnerabilities section written without vulnerability findings")
	}
}

// TestCycloneDXSuppressions checks how each kind of suppression reaches the
// BOM: VEX fixed as resolved, VEX not_affected as not_affected next to the
// same id found elsewhere, ignore-file entries not at all.
func TestCycloneDXSuppressions(t *testing.T) {
	r := fixture()
	vuln := r.Findings[2] // CVE-2024-0727
	r.Suppressed = []*Suppressed{
		{Finding: vuln, Source: "vex:a.json", Status: "fixed", Reason: "fixed — backported"},
		{Finding: vuln, Source: "vex:b.json", Status: "not_affected", Reason: "not_affected: component_not_present"},
		{Finding: vuln, Source: "ignore-file:x", Status: "ignored", Reason: "accepted"},
		{Finding: r.Findings[1], Source: "vex:c.json", Status: "not_affected", Reason: "not a vulnerability"},
	}
	out := render(t, FormatCycloneDX, r, Options{})
	requireValid(t, FormatCycloneDX, out)
	bom := decodeBOM(t, out)
	type got struct {
		ref           string
		state         cdx.ImpactAnalysisState
		justification cdx.ImpactAnalysisJustification
	}
	var list []got
	for _, v := range *bom.Vulnerabilities {
		if v.ID != "CVE-2024-0727" {
			continue
		}
		g := got{ref: v.BOMRef}
		if v.Analysis != nil {
			g.state, g.justification = v.Analysis.State, v.Analysis.Justification
		}
		list = append(list, g)
	}
	want := []got{
		{ref: "vulnerability:CVE-2024-0727"},
		{ref: "vulnerability:CVE-2024-0727:not_affected", state: cdx.IASNotAffected, justification: cdx.IAJCodeNotPresent},
		{ref: "vulnerability:CVE-2024-0727:resolved", state: cdx.IASResolved},
	}
	if !slices.Equal(list, want) {
		t.Errorf("CVE-2024-0727 entries = %+v, want %+v", list, want)
	}
	if bytes.Contains(out, []byte("ignore-file:")) || bytes.Contains(out, []byte("aws-access-key-id")) {
		t.Error("ignore-file suppression or non-vulnerability finding reached the BOM")
	}
}

func TestVEXJustification(t *testing.T) {
	tests := []struct {
		status, reason string
		want           cdx.ImpactAnalysisJustification
	}{
		{"not_affected", "not_affected: component_not_present", cdx.IAJCodeNotPresent},
		{"not_affected", "not_affected: vulnerable_code_not_present — gone", cdx.IAJCodeNotPresent},
		{"not_affected", "not_affected: vulnerable_code_not_in_execute_path", cdx.IAJCodeNotReachable},
		{"not_affected", "not_affected: vulnerable_code_cannot_be_controlled_by_adversary — input is fixed", cdx.IAJRequiresEnvironment},
		{"not_affected", "not_affected: inline_mitigations_already_exist", cdx.IAJProtectedByMitigatingControl},
		{"not_affected", "not_affected — impact only", ""},
		{"not_affected", "not_affected: something else", ""},
		{"not_affected", "component_not_present", ""},
		{"", ": component_not_present", ""},
	}
	for _, tt := range tests {
		got := vexToCycloneDXJustification[vexJustification(&Suppressed{Status: tt.status, Reason: tt.reason})]
		if got != tt.want {
			t.Errorf("justification of %q = %q, want %q", tt.reason, got, tt.want)
		}
	}
}

func TestCVSSMethod(t *testing.T) {
	for vector, want := range map[string]cdx.ScoringMethod{
		"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N": cdx.ScoringMethodCVSSv4,
		"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H":                    cdx.ScoringMethodCVSSv31,
		"CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H":                    cdx.ScoringMethodCVSSv3,
		"AV:N/AC:L/Au:N/C:P/I:P/A:P":                                      cdx.ScoringMethodCVSSv2,
		"CVSS:9.9/X:Y":                                                    cdx.ScoringMethodOther,
	} {
		if got := cvssMethod(vector); got != want {
			t.Errorf("cvssMethod(%q) = %q, want %q", vector, got, want)
		}
	}
}

func TestCycloneDXRecommendation(t *testing.T) {
	f := func(pkg, fixed, rem string) *finding.Finding {
		return &finding.Finding{Remediation: rem, Attributes: map[string]string{attrPackage: pkg, attrFixed: fixed}}
	}
	tests := []struct {
		group []*finding.Finding
		want  string
	}{
		{[]*finding.Finding{f("a", "1.2", "Upgrade a.")}, "Upgrade to 1.2."},
		{[]*finding.Finding{f("a", "1.2", ""), f("b", "1.2", "")}, "Upgrade to 1.2."},
		{[]*finding.Finding{f("a", "1.2", ""), f("b", "2.0", ""), f("a", "1.2", "")}, "Upgrade a to 1.2; b to 2.0."},
		{[]*finding.Finding{f("a", "", ""), f("b", "", "No fixed version is known yet.")}, "No fixed version is known yet."},
		{[]*finding.Finding{f("", "", "")}, ""},
	}
	for _, tt := range tests {
		if got := cycloneDXRecommendation(tt.group); got != tt.want {
			t.Errorf("cycloneDXRecommendation = %q, want %q", got, tt.want)
		}
	}
}
