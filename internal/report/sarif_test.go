package report

import (
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/picket-cdr/picket/internal/finding"
)

// Properties SARIF 2.1.0 allows on each object Picket writes.
var sarifAllowed = map[string][]string{
	"log":                    {"$schema", "version", "runs", "inlineExternalProperties", "properties"},
	"run":                    {"tool", "invocations", "conversion", "language", "versionControlProvenance", "originalUriBaseIds", "artifacts", "logicalLocations", "graphs", "results", "automationDetails", "runAggregates", "baselineGuid", "redactionTokens", "defaultEncoding", "defaultSourceLanguage", "newlineSequences", "columnKind", "externalPropertyFileReferences", "threadFlowLocations", "taxonomies", "addresses", "translations", "policies", "webRequests", "webResponses", "specialLocations", "properties"},
	"tool":                   {"driver", "extensions", "properties"},
	"toolComponent":          {"guid", "name", "organization", "product", "productSuite", "shortDescription", "fullDescription", "fullName", "version", "semanticVersion", "dottedQuadFileVersion", "releaseDateUtc", "downloadUri", "informationUri", "globalMessageStrings", "notifications", "rules", "taxa", "locations", "language", "contents", "isComprehensive", "localizedDataSemanticVersion", "minimumRequiredLocalizedDataSemanticVersion", "associatedComponent", "translationMetadata", "supportedTaxonomies", "properties"},
	"reportingDescriptor":    {"id", "deprecatedIds", "guid", "deprecatedGuids", "name", "deprecatedNames", "shortDescription", "fullDescription", "messageStrings", "defaultConfiguration", "helpUri", "help", "relationships", "properties"},
	"reportingConfiguration": {"enabled", "level", "rank", "parameters", "properties"},
	"multiformatMessage":     {"text", "markdown", "properties"},
	"message":                {"text", "markdown", "id", "arguments", "properties"},
	"result":                 {"ruleId", "ruleIndex", "rule", "kind", "level", "message", "analysisTarget", "locations", "guid", "correlationGuid", "occurrenceCount", "partialFingerprints", "fingerprints", "stacks", "codeFlows", "graphs", "graphTraversals", "relatedLocations", "suppressions", "baselineState", "rank", "attachments", "hostedViewerUri", "workItemUris", "provenance", "fixes", "taxa", "webRequest", "webResponse", "properties"},
	"location":               {"id", "physicalLocation", "logicalLocations", "message", "annotations", "relationships", "properties"},
	"physicalLocation":       {"address", "artifactLocation", "region", "contextRegion", "properties"},
	"artifactLocation":       {"uri", "uriBaseId", "index", "description", "properties"},
	"region":                 {"startLine", "startColumn", "endLine", "endColumn", "charOffset", "charLength", "byteOffset", "byteLength", "snippet", "message", "sourceLanguage", "properties"},
	"logicalLocation":        {"name", "index", "fullyQualifiedName", "decoratedName", "parentIndex", "kind", "properties"},
	"suppression":            {"guid", "kind", "status", "location", "justification", "properties"},
}

var (
	sarifSuppressionKinds    = []string{"inSource", "external"}
	sarifSuppressionStatuses = []string{"accepted", "underReview", "rejected"}
)

var sarifLevels = []string{"none", "note", "warning", "error"}

type sarifChecker struct{ problemList }

// obj checks v is an object of the given SARIF type with only allowed
// properties, and returns it.
func (c *sarifChecker) obj(where, typ string, v any) map[string]any {
	m, ok := v.(map[string]any)
	if !ok {
		c.errorf("%s: %T, want object", where, v)
		return map[string]any{}
	}
	for k := range m {
		if !slices.Contains(sarifAllowed[typ], k) {
			c.errorf("%s: property %q not allowed on %s", where, k, typ)
		}
	}
	if props, ok := m["properties"]; ok {
		c.propertyBag(where+".properties", props)
	}
	return m
}

// propertyBag checks a property bag: an object whose optional tags are
// unique strings.
func (c *sarifChecker) propertyBag(where string, v any) {
	m, ok := v.(map[string]any)
	if !ok {
		c.errorf("%s: %T, want object", where, v)
		return
	}
	if tags, ok := m["tags"]; ok {
		list, ok := tags.([]any)
		if !ok {
			c.errorf("%s.tags: %T, want array", where, tags)
			return
		}
		seen := map[any]bool{}
		for _, tag := range list {
			if _, ok := tag.(string); !ok || seen[tag] {
				c.errorf("%s.tags: %v is not a unique string", where, tag)
			}
			seen[tag] = true
		}
	}
}

// text checks a message-like object has non-empty text.
func (c *sarifChecker) text(where, typ string, v any) {
	if s, _ := c.obj(where, typ, v)["text"].(string); s == "" {
		c.errorf("%s.text missing or empty", where)
	}
}

// validateSARIF returns the problems found in a SARIF 2.1.0 log. It
// checks, by hand, the SARIF 2.1.0 constraints on everything Picket
// writes, including what the official JSON schema cannot express: required
// properties, allowed properties (the schema forbids additional ones on
// these objects), enumerations, value ranges, relative artifact URIs and
// the rule/result cross references.
func validateSARIF(data []byte) []string {
	c := &sarifChecker{}
	var raw any
	if err := decodeNumbers(data, &raw); err != nil {
		return []string{"not JSON: " + err.Error()}
	}
	log := c.obj("log", "log", raw)
	if log["version"] != "2.1.0" {
		c.errorf("version = %v, want 2.1.0", log["version"])
	}
	if log["$schema"] != "https://json.schemastore.org/sarif-2.1.0.json" {
		c.errorf("$schema = %v", log["$schema"])
	}
	runs, _ := log["runs"].([]any)
	if len(runs) != 1 {
		c.errorf("%d runs, want 1", len(runs))
	}
	for ri, rawRun := range runs {
		where := fmt.Sprintf("runs[%d]", ri)
		run := c.obj(where, "run", rawRun)
		tool := c.obj(where+".tool", "tool", run["tool"])
		driver := c.obj(where+".tool.driver", "toolComponent", tool["driver"])
		if driver["name"] != "picket" {
			c.errorf("%s.tool.driver.name = %v, want picket", where, driver["name"])
		}
		rules, _ := driver["rules"].([]any)
		var ruleIDs []string
		for i, rawRule := range rules {
			rw := fmt.Sprintf("%s.tool.driver.rules[%d]", where, i)
			rule := c.obj(rw, "reportingDescriptor", rawRule)
			id, _ := rule["id"].(string)
			if id == "" || slices.Contains(ruleIDs, id) {
				c.errorf("%s: id %q empty or duplicate", rw, id)
			}
			ruleIDs = append(ruleIDs, id)
			for _, k := range []string{"shortDescription", "fullDescription", "help"} {
				if v, ok := rule[k]; ok {
					c.text(rw+"."+k, "multiformatMessage", v)
				}
			}
			if hu, ok := rule["helpUri"].(string); ok {
				if u, err := url.Parse(hu); err != nil || !u.IsAbs() {
					c.errorf("%s.helpUri %q is not an absolute URI", rw, hu)
				}
			}
			if dc, ok := rule["defaultConfiguration"]; ok {
				lvl := c.obj(rw+".defaultConfiguration", "reportingConfiguration", dc)["level"]
				if !slices.Contains(sarifLevels, fmt.Sprint(lvl)) {
					c.errorf("%s.defaultConfiguration.level %v not allowed", rw, lvl)
				}
			}
			if props, ok := rule["properties"].(map[string]any); ok {
				if ss, ok := props["security-severity"]; ok {
					f, err := strconv.ParseFloat(fmt.Sprint(ss), 64)
					if err != nil || f < 0 || f > 10 {
						c.errorf("%s: security-severity %v is not a score in [0, 10]", rw, ss)
					}
				}
			}
		}

		results, ok := run["results"].([]any)
		if !ok {
			c.errorf("%s.results missing", where)
		}
		for i, rawRes := range results {
			rw := fmt.Sprintf("%s.results[%d]", where, i)
			res := c.obj(rw, "result", rawRes)
			c.text(rw+".message", "message", res["message"])
			id, _ := res["ruleId"].(string)
			idx, err := strconv.Atoi(fmt.Sprint(res["ruleIndex"]))
			if err != nil || idx < 0 || idx >= len(ruleIDs) || ruleIDs[idx] != id {
				c.errorf("%s: ruleId %q and ruleIndex %v disagree", rw, id, res["ruleIndex"])
			}
			if lvl := fmt.Sprint(res["level"]); !slices.Contains(sarifLevels, lvl) {
				c.errorf("%s.level %q not allowed", rw, lvl)
			}
			if fps, ok := res["partialFingerprints"].(map[string]any); ok {
				for k, v := range fps {
					if _, isStr := v.(string); !isStr {
						c.errorf("%s.partialFingerprints[%s] is %T, want string", rw, k, v)
					}
				}
			}
			if raw, ok := res["suppressions"]; ok {
				sups, isList := raw.([]any)
				if !isList {
					c.errorf("%s.suppressions: %T, want array", rw, raw)
				}
				for j, rawSup := range sups {
					sw := fmt.Sprintf("%s.suppressions[%d]", rw, j)
					sup := c.obj(sw, "suppression", rawSup)
					if kind, _ := sup["kind"].(string); !slices.Contains(sarifSuppressionKinds, kind) {
						c.errorf("%s.kind %v not allowed", sw, sup["kind"])
					}
					if st, ok := sup["status"]; ok && !slices.Contains(sarifSuppressionStatuses, fmt.Sprint(st)) {
						c.errorf("%s.status %v not allowed", sw, st)
					}
				}
			}
			locs, _ := res["locations"].([]any)
			if len(locs) == 0 {
				c.errorf("%s has no locations", rw)
			}
			for j, rawLoc := range locs {
				lw := fmt.Sprintf("%s.locations[%d]", rw, j)
				loc := c.obj(lw, "location", rawLoc)
				phys := c.obj(lw+".physicalLocation", "physicalLocation", loc["physicalLocation"])
				art := c.obj(lw+".physicalLocation.artifactLocation", "artifactLocation", phys["artifactLocation"])
				uri, _ := art["uri"].(string)
				if u, err := url.Parse(uri); uri == "" || err != nil || u.Scheme != "" || strings.HasPrefix(uri, "/") {
					c.errorf("%s: uri %q is not a relative reference without leading slash", lw, uri)
				}
				if reg, ok := phys["region"]; ok {
					line, err := strconv.Atoi(fmt.Sprint(c.obj(lw+".region", "region", reg)["startLine"]))
					if err != nil || line < 1 {
						c.errorf("%s: region.startLine %v must be >= 1", lw, line)
					}
				}
				lls, _ := loc["logicalLocations"].([]any)
				for k, ll := range lls {
					c.obj(fmt.Sprintf("%s.logicalLocations[%d]", lw, k), "logicalLocation", ll)
				}
			}
		}
	}
	return c.errs
}

func TestSARIFValid(t *testing.T) {
	noRule := fixture()
	noRule.Findings = append(noRule.Findings,
		&finding.Finding{Kind: finding.KindScan, Severity: finding.Unknown},
		&finding.Finding{Kind: finding.KindRuntime, Severity: finding.Low, RuleID: "PKT-RT-1", Location: finding.Location{Host: "node-1", Container: "c0ffee", PID: 42}},
		&finding.Finding{Kind: finding.KindSecret, Severity: finding.High, RuleID: "aws-access-key-id", Location: finding.Location{Path: "/weird path/ü:x.txt", Line: 3}},
		// Vulnerabilities with odd attributes: no package, scores out of
		// range or not numbers.
		&finding.Finding{Kind: finding.KindVulnerability, Severity: finding.High, RuleID: "CVE-0000-0001"},
		&finding.Finding{Kind: finding.KindVulnerability, Severity: finding.Low, RuleID: "CVE-0000-0002", Attributes: map[string]string{attrScore: "11", attrPackage: "p"}},
		&finding.Finding{Kind: finding.KindVulnerability, Severity: finding.Low, RuleID: "CVE-0000-0003", Attributes: map[string]string{attrScore: "n/a", attrKEV: "yes"}},
	)
	noRule.Suppressed = append(noRule.Suppressed,
		&Suppressed{Finding: &finding.Finding{Kind: finding.KindSecret, RuleID: "aws-access-key-id"}},
		&Suppressed{Finding: &finding.Finding{Kind: finding.KindVulnerability}, Source: "vex:x", Status: "fixed"},
		nil,
	)
	testValid(t, FormatSARIF, Options{}, map[string]*Report{"edge cases": noRule})
}

// Parts of the rendered fixture's SARIF log that the rejection tests break.
func sarifRunIn(log map[string]any) map[string]any    { return at(log, "runs", 0) }
func sarifDriverIn(log map[string]any) map[string]any { return at(sarifRunIn(log), "tool", "driver") }
func sarifRuleIn(log map[string]any) map[string]any   { return at(sarifDriverIn(log), "rules", 0) }
func sarifResultIn(log map[string]any) map[string]any { return at(sarifRunIn(log), "results", 0) }
func sarifPhysicalIn(log map[string]any) map[string]any {
	return at(sarifResultIn(log), "locations", 0, "physicalLocation")
}

// TestSARIFSchemaRejects proves the schema validation is live: broken logs
// must fail it.
func TestSARIFSchemaRejects(t *testing.T) {
	testRejects(t, FormatSARIF, sarifJSONSchema.check(), map[string]func(m map[string]any){
		"no version":       func(m map[string]any) { delete(m, "version") },
		"wrong version":    func(m map[string]any) { m["version"] = "2.0.0" },
		"no runs":          func(m map[string]any) { delete(m, "runs") },
		"no tool":          func(m map[string]any) { delete(sarifRunIn(m), "tool") },
		"no driver name":   func(m map[string]any) { delete(sarifDriverIn(m), "name") },
		"no rule id":       func(m map[string]any) { delete(sarifRuleIn(m), "id") },
		"no message":       func(m map[string]any) { delete(sarifResultIn(m), "message") },
		"empty message":    func(m map[string]any) { sarifResultIn(m)["message"] = map[string]any{} },
		"bad level":        func(m map[string]any) { sarifResultIn(m)["level"] = "fatal" },
		"unknown property": func(m map[string]any) { sarifResultIn(m)["severity"] = "HIGH" },
		"negative index":   func(m map[string]any) { sarifResultIn(m)["ruleIndex"] = -2 },
		"line zero":        func(m map[string]any) { sarifPhysicalIn(m)["region"] = map[string]any{"startLine": 0} },
		"no artifact":      func(m map[string]any) { delete(sarifPhysicalIn(m), "artifactLocation") },
		"help uri not uri": func(m map[string]any) { sarifRuleIn(m)["helpUri"] = "nvd" },
		"suppression without kind": func(m map[string]any) {
			sarifResultIn(m)["suppressions"] = []any{map[string]any{"status": "accepted"}}
		},
		"bad suppression status": func(m map[string]any) {
			sarifResultIn(m)["suppressions"] = []any{map[string]any{"kind": "external", "status": "ignored"}}
		},
	})
}

// TestSARIFValidatorRejects proves the structural validation is live.
func TestSARIFValidatorRejects(t *testing.T) {
	testRejects(t, FormatSARIF, sarifConstraints, map[string]func(m map[string]any){
		"no version":       func(m map[string]any) { delete(m, "version") },
		"no driver name":   func(m map[string]any) { delete(sarifDriverIn(m), "name") },
		"no message text":  func(m map[string]any) { sarifResultIn(m)["message"] = map[string]any{} },
		"bad level":        func(m map[string]any) { sarifResultIn(m)["level"] = "fatal" },
		"wrong rule index": func(m map[string]any) { sarifResultIn(m)["ruleIndex"] = 1 },
		"unknown property": func(m map[string]any) { sarifResultIn(m)["severity"] = "HIGH" },
		"bad suppression kind": func(m map[string]any) {
			sarifResultIn(m)["suppressions"] = []any{map[string]any{"kind": "vex"}}
		},
		"unknown suppression property": func(m map[string]any) {
			sarifResultIn(m)["suppressions"] = []any{map[string]any{"kind": "external", "reason": "x"}}
		},
		"absolute uri": func(m map[string]any) {
			sarifPhysicalIn(m)["artifactLocation"] = map[string]any{"uri": "/etc/passwd"}
		},
	})
}

func TestSARIFContents(t *testing.T) {
	log := decodeJSON[sarifLog](t, render(t, FormatSARIF, fixture(), Options{ToolVersion: "3.1.4"}))
	driver := log.Runs[0].Tool.Driver
	if driver.Version != "3.1.4" {
		t.Errorf("driver version = %q", driver.Version)
	}
	rules := map[string]sarifRule{}
	for _, r := range driver.Rules {
		rules[r.ID] = r
	}
	// CVSS base scores where the vulnerability has one, else the mapping.
	for id, want := range map[string]string{
		"aws-access-key-id": "9.5", "CVE-2024-0727": "8.0", "PKT-IMG-001": "5.5", "PKT-SCAN-002": "",
		"CVE-2024-45337": "9.1", "GO-2025-3487": "6.9", "CVE-2025-26519": "", "CVE-2023-5678": "5.9",
	} {
		if got := ruleProps(rules[id]).SecuritySeverity; got != want {
			t.Errorf("rule %s security-severity = %q, want %q", id, got, want)
		}
	}
	if h := rules["CVE-2024-0727"].Help; h == nil || !strings.Contains(h.Text, "Upgrade libssl3 to 3.0.13-1~deb12u1 or later.") ||
		!strings.Contains(h.Text, "fixed in 3.0.13-1~deb12u1") {
		t.Errorf("CVE rule help = %+v, want the remediation and fixed version", h)
	}
	kev := rules["CVE-2024-45337"]
	if kev.Name != "Misuse of ServerConfig.PublicKeyCallback may cause authorization bypass in golang.org/x/crypto" ||
		kev.ShortDescription == nil || kev.ShortDescription.Text != kev.Name {
		t.Errorf("vulnerability rule name/shortDescription = %q/%+v, want the title", kev.Name, kev.ShortDescription)
	}
	if !slices.Equal(ruleProps(kev).Tags, []string{"kev", "security", "vulnerability"}) {
		t.Errorf("KEV rule tags = %q", ruleProps(kev).Tags)
	}
	if !slices.Equal(ruleProps(rules["GO-2025-3487"]).Tags, []string{"security", "vulnerability"}) {
		t.Errorf("GO rule tags = %q", ruleProps(rules["GO-2025-3487"]).Tags)
	}
	for _, want := range []string{"Also known as: GHSA-v778-237x-gjrc, GO-2024-3321.", "Known exploited (CISA KEV): CVE-2024-45337 (added 2025-01-08)."} {
		if kev.Help == nil || !strings.Contains(kev.Help.Text, want) {
			t.Errorf("KEV rule help = %+v, lacks %q", kev.Help, want)
		}
	}
	if h := rules["CVE-2025-26519"].Help; h == nil || h.Text != "Affected: musl 1.2.4-r2; no fixed version is known." {
		t.Errorf("unfixed rule help = %+v", h)
	}
	if rules["PKT-IMG-001"].Name != "" {
		t.Error("non-vulnerability rule got a name")
	}

	byRule := map[string]sarifResult{}
	for _, r := range log.Runs[0].Results {
		byRule[r.RuleID] = r
	}
	levels := map[string]string{"aws-access-key-id": "error", "CVE-2024-0727": "error", "PKT-IMG-001": "warning", "PKT-SCAN-002": "note"}
	for id, want := range levels {
		if got := byRule[id].Level; got != want {
			t.Errorf("result %s level = %q, want %q", id, got, want)
		}
	}
	secret := byRule["aws-access-key-id"]
	phys := secret.Locations[0].PhysicalLocation
	if phys.ArtifactLocation.URI != "app/config/settings.yaml" || phys.Region == nil || phys.Region.StartLine != 12 {
		t.Errorf("secret location = %+v", phys)
	}
	if secret.Properties["layerDiffId"] != fixtureLayer2 {
		t.Errorf("secret layerDiffId = %v", secret.Properties["layerDiffId"])
	}
	if _, ok := secret.Properties["evidence"]; ok {
		t.Error("secret evidence leaked into SARIF")
	}
	if uri := byRule["PKT-IMG-001"].Locations[0].PhysicalLocation.ArtifactLocation.URI; uri != "registry.example.com/shop/api:1.4.2" {
		t.Errorf("path-less finding uri = %q, want the target name", uri)
	}
	if r := byRule["PKT-IMG-001"]; r.Locations[0].PhysicalLocation.Region != nil {
		t.Error("region written for a finding without a line")
	}

	for id, want := range map[string]string{
		"CVE-2024-45337": "golang.org/x/crypto v0.21.0 is affected by CVE-2024-45337 (fixed in v0.31.0)",
		"CVE-2025-26519": "musl 1.2.4-r2 is affected by CVE-2025-26519 (no fixed version is known)",
		"CVE-2023-5678":  "libssl3 3.0.11-1~deb12u2 is affected by CVE-2023-5678 (fixed in 3.0.13-1~deb12u1); suppressed (not_affected)",
	} {
		if got := byRule[id].Message.Text; got != want {
			t.Errorf("result %s message = %q, want %q", id, got, want)
		}
	}

	// Suppressed findings come last, as accepted external suppressions.
	results := log.Runs[0].Results
	if len(results) != 9 {
		t.Fatalf("%d results, want 7 findings and 2 suppressed", len(results))
	}
	for i, r := range results {
		if (i >= 7) != (len(r.Suppressions) > 0) {
			t.Errorf("result %d (%s): suppressions = %+v", i, r.RuleID, r.Suppressions)
		}
	}
	wantSup := map[string]sarifSuppression{
		"CVE-2022-3715": {Kind: "external", Status: "accepted",
			Justification: "bash never sees untrusted input in this image (until 2025-06-30)",
			Properties:    map[string]any{"source": "ignore-file:.picketignore", "status": "ignored"}},
		"CVE-2023-5678": {Kind: "external", Status: "accepted",
			Justification: "not_affected: vulnerable_code_not_in_execute_path — the service never generates or checks X9.42 DH keys",
			Properties:    map[string]any{"source": "vex:security/api.openvex.json", "status": "not_affected"}},
	}
	for id, want := range wantSup {
		if got := byRule[id].Suppressions; len(got) != 1 || !reflect.DeepEqual(got[0], want) {
			t.Errorf("result %s suppressions = %+v, want [%+v]", id, got, want)
		}
	}
	// A suppressed result keeps the fingerprint it has unsuppressed, so
	// dashboards match it to the open alert.
	r := fixture()
	if got, want := byRule["CVE-2023-5678"].PartialFingerprints[sarifFingerprint], findingHash(r.Suppressed[1].Finding); got != want {
		t.Errorf("suppressed fingerprint = %s, want %s", got, want)
	}

	db, ok := log.Runs[0].Properties["vulnerabilityDatabase"].(map[string]any)
	if !ok || db["status"] != "ok" || db["updatedAt"] != "2025-03-13T22:00:00Z" {
		t.Errorf("run vulnerabilityDatabase property = %v", log.Runs[0].Properties["vulnerabilityDatabase"])
	}
}

// TestSARIFSuppressedOnly checks a rule whose only findings are suppressed
// still exists, and that suppressed results validate.
func TestSARIFSuppressedOnly(t *testing.T) {
	r := fixture()
	r.Findings = nil
	out := render(t, FormatSARIF, r, Options{})
	requireValid(t, FormatSARIF, out)
	log := decodeJSON[sarifLog](t, out)
	if n := len(log.Runs[0].Tool.Driver.Rules); n != 2 {
		t.Errorf("%d rules, want 2", n)
	}
	for _, res := range log.Runs[0].Results {
		if len(res.Suppressions) != 1 {
			t.Errorf("result %s not suppressed", res.RuleID)
		}
	}
}

func TestSARIFLevels(t *testing.T) {
	tests := []struct {
		sev   finding.Severity
		level string
		score string
	}{
		{finding.Critical, "error", "9.5"},
		{finding.High, "error", "8.0"},
		{finding.Medium, "warning", "5.5"},
		{finding.Low, "note", "2.0"},
		{finding.Info, "note", ""},
		{finding.Unknown, "note", ""},
		{finding.Severity(42), "note", ""},
	}
	for _, tt := range tests {
		if got := sarifLevel(tt.sev); got != tt.level {
			t.Errorf("sarifLevel(%v) = %q, want %q", tt.sev, got, tt.level)
		}
		if got := securitySeverity(tt.sev); got != tt.score {
			t.Errorf("securitySeverity(%v) = %q, want %q", tt.sev, got, tt.score)
		}
	}
}

func TestURIReference(t *testing.T) {
	tests := map[string]string{
		"usr/lib/os-release":  "usr/lib/os-release",
		"alpine:3.19":         "./alpine:3.19",
		"docker.io/x/y:1":     "docker.io/x/y:1",
		"dir with space/f#1?": "dir%20with%20space/f%231%3F",
	}
	for in, want := range tests {
		if got := uriReference(in); got != want {
			t.Errorf("uriReference(%q) = %q, want %q", in, got, want)
		}
	}
}

// ruleProps decodes a rule's property bag (a map after JSON decoding).
func ruleProps(r sarifRule) sarifRuleProperties {
	var p sarifRuleProperties
	b, _ := json.Marshal(r.Properties)
	_ = json.Unmarshal(b, &p)
	return p
}
