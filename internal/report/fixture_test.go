package report

import (
	"time"

	"github.com/picket-cdr/picket/internal/finding"
	"github.com/picket-cdr/picket/internal/inventory"
)

// Layer diff ids of the fixture image.
const (
	fixtureLayer0 = "sha256:1f2e4b8a6d0c9e3f5a7b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f"
	fixtureLayer1 = "sha256:2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f70819"
	fixtureLayer2 = "sha256:3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2"
)

// fixtureImage names the fixture image, the target of every finding.
const fixtureImage = "registry.example.com/shop/api:1.4.2"

// fixtureLayers lists the layer diff ids by layer index.
var fixtureLayers = [...]string{fixtureLayer0, fixtureLayer1, fixtureLayer2}

func intPtr(i int) *int { return &i }

// layerFile locates path in layer i of the fixture image.
func layerFile(i int, path string) finding.Location {
	return finding.Location{Image: fixtureImage, LayerIndex: intPtr(i), LayerDiffID: fixtureLayers[i], Path: path}
}

// fixturePackage returns a package of the fixture image that analyzer read
// from path in layer i.
func fixturePackage(eco inventory.Ecosystem, name, version, purl string, layer int, path, analyzer string, licenses ...string) *inventory.Package {
	return &inventory.Package{
		Name: name, Version: version, Ecosystem: eco, PURL: purl, Licenses: licenses,
		Path: path, Layer: layer, LayerDiffID: fixtureLayers[layer], Analyzer: analyzer,
	}
}

// debPackage returns an amd64 Debian package of the fixture's base layer
// built from source package source at sourceVersion.
func debPackage(name, version, purl, source, sourceVersion string, licenses ...string) *inventory.Package {
	p := fixturePackage(inventory.Debian, name, version, purl, 0, "/var/lib/dpkg/status", "dpkg", licenses...)
	p.SourceName, p.SourceVersion, p.Arch = source, sourceVersion, "amd64"
	return p
}

// vulnMatch is what the matcher records about a vulnerable package: the
// ecosystem it matched in (in the matcher's spelling, e.g. "Debian:12"),
// the fixed version, every id of the vulnerability, the database source,
// and any CVSS vector, score and KEV entry. Empty fields are left out.
type vulnMatch struct {
	ecosystem, fixed, ids, source string
	cvss, score, kev              string
}

// vulnFinding returns a vulnerability finding about package p of the
// fixture image as the matcher reports it.
func vulnFinding(p *inventory.Package, sev finding.Severity, id, title, remediation string, m vulnMatch, refs ...string) *finding.Finding {
	attrs := map[string]string{FindingAttrPURL: p.PURL, attrPackage: p.Name, attrInstalled: p.Version}
	for k, v := range map[string]string{
		attrEcosystem: m.ecosystem, attrFixed: m.fixed, attrIDs: m.ids, attrSource: m.source,
		attrCVSS: m.cvss, attrScore: m.score, attrKEV: m.kev,
	} {
		if v != "" {
			attrs[k] = v
		}
	}
	return &finding.Finding{
		Kind: finding.KindVulnerability, Severity: sev, RuleID: id, Title: title,
		Target: fixtureImage, Location: layerFile(p.Layer, p.Path),
		Remediation: remediation, References: refs, Attributes: attrs,
	}
}

// fixture returns a fresh Report covering every writer's paths: packages of
// several ecosystems (one Debian with a source package, one Alpine, one Go,
// an npm package with a license expression, a PyPI package owned by a
// Debian package, a package with a non-SPDX license), findings of
// several kinds and severities, one with a line number and one without a
// path, vulnerabilities as the matcher reports them (a fixable one with a
// CVSS 3.1 vector listed in KEV, one of unknown severity without a fix, a
// Go advisory merging two CVEs scored with CVSS 4.0, and one rated by the
// distro only), one finding suppressed by an ignore file and one by a VEX
// not_affected statement, and the vulnerability database used. Slices are
// deliberately unsorted.
func fixture() *Report {
	crypto := fixturePackage(inventory.Go, "golang.org/x/crypto", "v0.21.0", "pkg:golang/golang.org/x/crypto@v0.21.0",
		2, "/app/server", "gobinary", "BSD-3-Clause")
	crypto.Extra = map[string]string{"goVersion": "go1.22.1"}
	ssl := debPackage("libssl3", "3.0.11-1~deb12u2", "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12",
		"openssl", "3.0.11-1~deb12u2", "Apache-2.0")
	widget := fixturePackage(inventory.NPM, "@acme/widget", "2.0.0", "pkg:npm/%40acme/widget@2.0.0",
		2, "/app/node_modules/@acme/widget/package.json", "npm", "(mit OR Apache-2.0)")
	musl := fixturePackage(inventory.Alpine, "musl", "1.2.4-r2", "pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64&distro=3.19.0",
		1, "/lib/apk/db/installed", "apk", "MIT")
	musl.Arch = "x86_64"
	bash := debPackage("bash", "5.2.15-2+b2", "pkg:deb/debian/bash@5.2.15-2%2Bb2?arch=amd64&distro=debian-12",
		"bash", "5.2.15-2", "GPL-3.0-or-later", "GPL-3+ with Bison exception")
	requests := fixturePackage(inventory.PyPI, "requests", "2.31.0", "pkg:pypi/requests@2.31.0",
		1, "/usr/lib/python3/dist-packages/requests-2.31.0.dist-info/METADATA", "python", "Apache-2.0")
	requests.OwnedBy = "deb:python3-requests"

	secretAt := layerFile(2, "/app/config/settings.yaml")
	secretAt.Line = 12

	// A fixable vulnerability with a CVSS 3.1 vector, listed in KEV.
	kev := vulnFinding(crypto, finding.Critical, "CVE-2024-45337",
		"Misuse of ServerConfig.PublicKeyCallback may cause authorization bypass in golang.org/x/crypto",
		"Upgrade golang.org/x/crypto to v0.31.0 or later.",
		vulnMatch{ecosystem: "Go", fixed: "v0.31.0", ids: "CVE-2024-45337,GHSA-v778-237x-gjrc,GO-2024-3321", source: "osv",
			cvss: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:N", score: "9.1", kev: "CVE-2024-45337 (added 2025-01-08)"},
		"https://pkg.go.dev/vuln/GO-2024-3321", "https://github.com/advisories/GHSA-v778-237x-gjrc")
	kev.Description = "Applications and libraries which misuse the ServerConfig.PublicKeyCallback callback may be susceptible to an authorization bypass."
	kev.Evidence = "golang.org/x/crypto v0.21.0 (Go)"
	kev.Tags = []string{"kev"}

	// A vulnerability of unknown severity without a fix, titled
	// "<id> in <pkg> <version>" for want of a summary.
	unfixed := vulnFinding(musl, finding.Unknown, "CVE-2025-26519", "CVE-2025-26519 in musl 1.2.4-r2",
		"No fixed version is known yet.",
		vulnMatch{ecosystem: "Alpine:v3.19", ids: "CVE-2025-26519", source: "alpine"})
	unfixed.Evidence = "musl 1.2.4-r2 (Alpine:v3.19)"

	// A Go advisory merging two CVEs, so its id is the Go one; scored
	// with CVSS 4.0.
	goVuln := vulnFinding(crypto, finding.Medium, "GO-2025-3487", "Potential denial of service in golang.org/x/crypto",
		"Upgrade golang.org/x/crypto to v0.35.0 or later.",
		vulnMatch{ecosystem: "Go", fixed: "v0.35.0", ids: "CVE-2025-22869,CVE-2025-22870,GHSA-hcg3-q754-cr77,GO-2025-3487", source: "osv",
			cvss: "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:L/SC:N/SI:N/SA:N", score: "6.9"},
		"https://pkg.go.dev/vuln/GO-2025-3487")
	goVuln.Description = "SSH servers which implement file transfer protocols are vulnerable to a denial of service attack from clients which complete the key exchange slowly."
	goVuln.Evidence = "golang.org/x/crypto v0.21.0 (Go)"

	return &Report{
		SchemaVersion: SchemaVersion,
		Tool:          Tool{Name: "picket", Version: "1.2.3"},
		CreatedAt:     time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC),
		Target: Target{
			Name:         fixtureImage,
			Kind:         "image",
			Source:       "docker-archive",
			ImageID:      "sha256:9b1e0a3c2d4f6e8a0b1c3d5e7f9a2b4c6d8e0f1a3b5c7d9e2f4a6b8c0d1e3f5a",
			Digest:       "sha256:4d6f8a0b2c4e6f8a1b3c5d7e9f0a2b4c6d8e1f3a5b7c9d0e2f4a6b8c1d3e5f7a",
			RepoTags:     []string{fixtureImage},
			OS:           "linux",
			Architecture: "amd64",
			Distro: inventory.Distro{
				ID:         "debian",
				VersionID:  "12",
				Codename:   "bookworm",
				PrettyName: "Debian GNU/Linux 12 (bookworm)",
			},
			Layers: []Layer{
				{Index: 0, DiffID: fixtureLayer0, Size: 77_832_192, Files: 8_842, CreatedBy: "/bin/sh -c #(nop) ADD file:debian.tar.gz in /"},
				{Index: 1, DiffID: fixtureLayer1, Size: 9_437_184, Files: 312, CreatedBy: "RUN apt-get install -y python3-requests", Cached: true},
				{Index: 2, DiffID: fixtureLayer2, Size: 18_874_368, Files: 4, CreatedBy: "COPY server config /app/"},
			},
		},
		Packages: []*inventory.Package{crypto, ssl, widget, musl, bash, requests},
		Findings: []*finding.Finding{
			{
				Kind:     finding.KindMisconfig,
				Severity: finding.Medium,
				RuleID:   "PKT-IMG-001",
				Title:    "Image runs as root",
				Description: "The image configuration sets no USER, so containers run as root " +
					"unless the runtime overrides it.",
				Target:      fixtureImage,
				Location:    finding.Location{Image: fixtureImage},
				Evidence:    `config.User = ""`,
				Remediation: "Add a USER instruction with a non-root user.",
				Tags:        []string{"dockerfile", "cis-4.1"},
			},
			{
				Kind:        finding.KindSecret,
				Severity:    finding.Critical,
				RuleID:      "aws-access-key-id",
				Title:       "AWS access key ID",
				Target:      fixtureImage,
				Location:    secretAt,
				Evidence:    "AKIA************MPLE",
				Remediation: "Remove the key from the image and rotate it.",
				Tags:        []string{"aws", "cloud"},
			},
			vulnFinding(ssl, finding.High, "CVE-2024-0727", "openssl: denial of service via null dereference in PKCS12 parsing",
				"Upgrade libssl3 to 3.0.13-1~deb12u1 or later.",
				vulnMatch{ecosystem: "Debian:12", fixed: "3.0.13-1~deb12u1", ids: "CVE-2024-0727,DSA-5621-1", source: "debian"},
				"https://nvd.nist.gov/vuln/detail/CVE-2024-0727", "DSA-5621-1"),
			{
				Kind:     finding.KindScan,
				Severity: finding.Info,
				RuleID:   "PKT-SCAN-002",
				Title:    "File skipped: larger than the size limit",
				Target:   fixtureImage,
				Location: finding.Location{LayerIndex: intPtr(1), LayerDiffID: fixtureLayer1, Path: "/opt/models/weights.bin"},
			},
			kev,
			unfixed,
			goVuln,
		},
		Suppressed: []*Suppressed{
			// Accepted by an ignore file: local policy.
			{
				Finding: vulnFinding(bash, finding.High, "CVE-2022-3715", "bash: a heap-buffer-overflow in valid_parameter_transform",
					"No fixed version is known yet.",
					vulnMatch{ecosystem: "Debian:12", ids: "CVE-2022-3715", source: "debian"},
					"https://security-tracker.debian.org/tracker/CVE-2022-3715"),
				Source: "ignore-file:.picketignore",
				Status: "ignored",
				Reason: "bash never sees untrusted input in this image (until 2025-06-30)",
			},
			// Accepted by an OpenVEX not_affected statement.
			{
				Finding: vulnFinding(ssl, finding.Medium, "CVE-2023-5678",
					"openssl: Generating excessively long X9.42 DH keys or checking excessively long X9.42 DH keys or parameters may be very slow",
					"Upgrade libssl3 (source package openssl) to 3.0.13-1~deb12u1 or later.",
					vulnMatch{ecosystem: "Debian:12", fixed: "3.0.13-1~deb12u1", ids: "CVE-2023-5678", source: "debian",
						cvss: "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:N/A:H", score: "5.9"},
					"https://www.openssl.org/news/secadv/20231106.txt"),
				Source: "vex:security/api.openvex.json",
				Status: "not_affected",
				Reason: "not_affected: vulnerable_code_not_in_execute_path — the service never generates or checks X9.42 DH keys",
			},
		},
		VulnDB: &VulnDB{
			Status:      "ok",
			UpdatedAt:   time.Date(2025, 3, 13, 22, 0, 0, 0, time.UTC),
			Sources:     []string{"alpine", "debian", "osv"},
			Packages:    5,
			Errors:      1,
			ErrorSample: []string{"DLA-3000-1 bash@5.2.15-2+b2: version \"5.2.15-2+b2~\": invalid revision"},
			OwnedByOS:   1,
		},
		Stats: Stats{
			Files:           9_120,
			Bytes:           106_143_744,
			FilesAnalyzed:   1_204,
			SkippedTooLarge: 1,
			LayersCached:    1,
			Duration:        1_250 * time.Millisecond,
		},
	}
}
