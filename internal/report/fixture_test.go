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

func intPtr(i int) *int { return &i }

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
	return &Report{
		SchemaVersion: SchemaVersion,
		Tool:          Tool{Name: "picket", Version: "1.2.3"},
		CreatedAt:     time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC),
		Target: Target{
			Name:         "registry.example.com/shop/api:1.4.2",
			Kind:         "image",
			Source:       "docker-archive",
			ImageID:      "sha256:9b1e0a3c2d4f6e8a0b1c3d5e7f9a2b4c6d8e0f1a3b5c7d9e2f4a6b8c0d1e3f5a",
			Digest:       "sha256:4d6f8a0b2c4e6f8a1b3c5d7e9f0a2b4c6d8e1f3a5b7c9d0e2f4a6b8c1d3e5f7a",
			RepoTags:     []string{"registry.example.com/shop/api:1.4.2"},
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
		Packages: []*inventory.Package{
			{
				Name:      "golang.org/x/crypto",
				Version:   "v0.21.0",
				Ecosystem: inventory.Go,
				PURL:      "pkg:golang/golang.org/x/crypto@v0.21.0",
				Licenses:  []string{"BSD-3-Clause"},
				Path:      "/app/server",
				Layer:     2, LayerDiffID: fixtureLayer2,
				Analyzer: "gobinary",
				Extra:    map[string]string{"goVersion": "go1.22.1"},
			},
			{
				Name:          "libssl3",
				Version:       "3.0.11-1~deb12u2",
				Ecosystem:     inventory.Debian,
				PURL:          "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12",
				SourceName:    "openssl",
				SourceVersion: "3.0.11-1~deb12u2",
				Arch:          "amd64",
				Licenses:      []string{"Apache-2.0"},
				Path:          "/var/lib/dpkg/status",
				Layer:         0, LayerDiffID: fixtureLayer0,
				Analyzer: "dpkg",
			},
			{
				Name:      "@acme/widget",
				Version:   "2.0.0",
				Ecosystem: inventory.NPM,
				PURL:      "pkg:npm/%40acme/widget@2.0.0",
				Licenses:  []string{"(mit OR Apache-2.0)"},
				Path:      "/app/node_modules/@acme/widget/package.json",
				Layer:     2, LayerDiffID: fixtureLayer2,
				Analyzer: "npm",
			},
			{
				Name:      "musl",
				Version:   "1.2.4-r2",
				Ecosystem: inventory.Alpine,
				PURL:      "pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64&distro=3.19.0",
				Arch:      "x86_64",
				Licenses:  []string{"MIT"},
				Path:      "/lib/apk/db/installed",
				Layer:     1, LayerDiffID: fixtureLayer1,
				Analyzer: "apk",
			},
			{
				Name:          "bash",
				Version:       "5.2.15-2+b2",
				Ecosystem:     inventory.Debian,
				PURL:          "pkg:deb/debian/bash@5.2.15-2%2Bb2?arch=amd64&distro=debian-12",
				SourceName:    "bash",
				SourceVersion: "5.2.15-2",
				Arch:          "amd64",
				Licenses:      []string{"GPL-3.0-or-later", "GPL-3+ with Bison exception"},
				Path:          "/var/lib/dpkg/status",
				Layer:         0, LayerDiffID: fixtureLayer0,
				Analyzer: "dpkg",
			},
			{
				Name:      "requests",
				Version:   "2.31.0",
				Ecosystem: inventory.PyPI,
				PURL:      "pkg:pypi/requests@2.31.0",
				Licenses:  []string{"Apache-2.0"},
				Path:      "/usr/lib/python3/dist-packages/requests-2.31.0.dist-info/METADATA",
				Layer:     1, LayerDiffID: fixtureLayer1,
				OwnedBy:  "deb:python3-requests",
				Analyzer: "python",
			},
		},
		Findings: []*finding.Finding{
			{
				Kind:     finding.KindMisconfig,
				Severity: finding.Medium,
				RuleID:   "PKT-IMG-001",
				Title:    "Image runs as root",
				Description: "The image configuration sets no USER, so containers run as root " +
					"unless the runtime overrides it.",
				Target:      "registry.example.com/shop/api:1.4.2",
				Location:    finding.Location{Image: "registry.example.com/shop/api:1.4.2"},
				Evidence:    `config.User = ""`,
				Remediation: "Add a USER instruction with a non-root user.",
				Tags:        []string{"dockerfile", "cis-4.1"},
			},
			{
				Kind:     finding.KindSecret,
				Severity: finding.Critical,
				RuleID:   "aws-access-key-id",
				Title:    "AWS access key ID",
				Target:   "registry.example.com/shop/api:1.4.2",
				Location: finding.Location{
					Image:       "registry.example.com/shop/api:1.4.2",
					LayerIndex:  intPtr(2),
					LayerDiffID: fixtureLayer2,
					Path:        "/app/config/settings.yaml",
					Line:        12,
				},
				Evidence:    "AKIA************MPLE",
				Remediation: "Remove the key from the image and rotate it.",
				Tags:        []string{"aws", "cloud"},
			},
			{
				Kind:     finding.KindVulnerability,
				Severity: finding.High,
				RuleID:   "CVE-2024-0727",
				Title:    "openssl: denial of service via null dereference in PKCS12 parsing",
				Target:   "registry.example.com/shop/api:1.4.2",
				Location: finding.Location{
					Image:       "registry.example.com/shop/api:1.4.2",
					LayerIndex:  intPtr(0),
					LayerDiffID: fixtureLayer0,
					Path:        "/var/lib/dpkg/status",
				},
				Remediation: "Upgrade libssl3 to 3.0.13-1~deb12u1 or later.",
				References:  []string{"https://nvd.nist.gov/vuln/detail/CVE-2024-0727", "DSA-5621-1"},
				Attributes: map[string]string{
					FindingAttrPURL: "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12",
					attrPackage:     "libssl3",
					attrInstalled:   "3.0.11-1~deb12u2",
					attrFixed:       "3.0.13-1~deb12u1",
					attrEcosystem:   "Debian:12",
					attrIDs:         "CVE-2024-0727,DSA-5621-1",
					attrSource:      "debian",
				},
			},
			{
				Kind:     finding.KindScan,
				Severity: finding.Info,
				RuleID:   "PKT-SCAN-002",
				Title:    "File skipped: larger than the size limit",
				Target:   "registry.example.com/shop/api:1.4.2",
				Location: finding.Location{
					LayerIndex:  intPtr(1),
					LayerDiffID: fixtureLayer1,
					Path:        "/opt/models/weights.bin",
				},
			},
			// A fixable vulnerability with a CVSS 3.1 vector, listed in KEV.
			{
				Kind:        finding.KindVulnerability,
				Severity:    finding.Critical,
				RuleID:      "CVE-2024-45337",
				Title:       "Misuse of ServerConfig.PublicKeyCallback may cause authorization bypass in golang.org/x/crypto",
				Description: "Applications and libraries which misuse the ServerConfig.PublicKeyCallback callback may be susceptible to an authorization bypass.",
				Target:      "registry.example.com/shop/api:1.4.2",
				Location: finding.Location{
					Image:       "registry.example.com/shop/api:1.4.2",
					LayerIndex:  intPtr(2),
					LayerDiffID: fixtureLayer2,
					Path:        "/app/server",
				},
				Evidence:    "golang.org/x/crypto v0.21.0 (Go)",
				Remediation: "Upgrade golang.org/x/crypto to v0.31.0 or later.",
				References:  []string{"https://pkg.go.dev/vuln/GO-2024-3321", "https://github.com/advisories/GHSA-v778-237x-gjrc"},
				Tags:        []string{"kev"},
				Attributes: map[string]string{
					FindingAttrPURL: "pkg:golang/golang.org/x/crypto@v0.21.0",
					attrPackage:     "golang.org/x/crypto",
					attrInstalled:   "v0.21.0",
					attrFixed:       "v0.31.0",
					attrEcosystem:   "Go",
					attrIDs:         "CVE-2024-45337,GHSA-v778-237x-gjrc,GO-2024-3321",
					attrCVSS:        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:N",
					attrScore:       "9.1",
					attrKEV:         "CVE-2024-45337 (added 2025-01-08)",
					attrSource:      "osv",
				},
			},
			// A vulnerability of unknown severity without a fix, titled
			// "<id> in <pkg> <version>" for want of a summary.
			{
				Kind:     finding.KindVulnerability,
				Severity: finding.Unknown,
				RuleID:   "CVE-2025-26519",
				Title:    "CVE-2025-26519 in musl 1.2.4-r2",
				Target:   "registry.example.com/shop/api:1.4.2",
				Location: finding.Location{
					Image:       "registry.example.com/shop/api:1.4.2",
					LayerIndex:  intPtr(1),
					LayerDiffID: fixtureLayer1,
					Path:        "/lib/apk/db/installed",
				},
				Evidence:    "musl 1.2.4-r2 (Alpine:v3.19)",
				Remediation: "No fixed version is known yet.",
				Attributes: map[string]string{
					FindingAttrPURL: "pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64&distro=3.19.0",
					attrPackage:     "musl",
					attrInstalled:   "1.2.4-r2",
					attrEcosystem:   "Alpine:v3.19",
					attrIDs:         "CVE-2025-26519",
					attrSource:      "alpine",
				},
			},
			// A Go advisory merging two CVEs, so its id is the Go one; scored
			// with CVSS 4.0.
			{
				Kind:        finding.KindVulnerability,
				Severity:    finding.Medium,
				RuleID:      "GO-2025-3487",
				Title:       "Potential denial of service in golang.org/x/crypto",
				Description: "SSH servers which implement file transfer protocols are vulnerable to a denial of service attack from clients which complete the key exchange slowly.",
				Target:      "registry.example.com/shop/api:1.4.2",
				Location: finding.Location{
					Image:       "registry.example.com/shop/api:1.4.2",
					LayerIndex:  intPtr(2),
					LayerDiffID: fixtureLayer2,
					Path:        "/app/server",
				},
				Evidence:    "golang.org/x/crypto v0.21.0 (Go)",
				Remediation: "Upgrade golang.org/x/crypto to v0.35.0 or later.",
				References:  []string{"https://pkg.go.dev/vuln/GO-2025-3487"},
				Attributes: map[string]string{
					FindingAttrPURL: "pkg:golang/golang.org/x/crypto@v0.21.0",
					attrPackage:     "golang.org/x/crypto",
					attrInstalled:   "v0.21.0",
					attrFixed:       "v0.35.0",
					attrEcosystem:   "Go",
					attrIDs:         "CVE-2025-22869,CVE-2025-22870,GHSA-hcg3-q754-cr77,GO-2025-3487",
					attrCVSS:        "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:L/SC:N/SI:N/SA:N",
					attrScore:       "6.9",
					attrSource:      "osv",
				},
			},
		},
		Suppressed: []*Suppressed{
			// Accepted by an ignore file: local policy.
			{
				Finding: &finding.Finding{
					Kind:     finding.KindVulnerability,
					Severity: finding.High,
					RuleID:   "CVE-2022-3715",
					Title:    "bash: a heap-buffer-overflow in valid_parameter_transform",
					Target:   "registry.example.com/shop/api:1.4.2",
					Location: finding.Location{
						Image:       "registry.example.com/shop/api:1.4.2",
						LayerIndex:  intPtr(0),
						LayerDiffID: fixtureLayer0,
						Path:        "/var/lib/dpkg/status",
					},
					Remediation: "No fixed version is known yet.",
					References:  []string{"https://security-tracker.debian.org/tracker/CVE-2022-3715"},
					Attributes: map[string]string{
						FindingAttrPURL: "pkg:deb/debian/bash@5.2.15-2%2Bb2?arch=amd64&distro=debian-12",
						attrPackage:     "bash",
						attrInstalled:   "5.2.15-2+b2",
						attrEcosystem:   "Debian:12",
						attrIDs:         "CVE-2022-3715",
						attrSource:      "debian",
					},
				},
				Source: "ignore-file:.picketignore",
				Status: "ignored",
				Reason: "bash never sees untrusted input in this image (until 2025-06-30)",
			},
			// Accepted by an OpenVEX not_affected statement.
			{
				Finding: &finding.Finding{
					Kind:     finding.KindVulnerability,
					Severity: finding.Medium,
					RuleID:   "CVE-2023-5678",
					Title:    "openssl: Generating excessively long X9.42 DH keys or checking excessively long X9.42 DH keys or parameters may be very slow",
					Target:   "registry.example.com/shop/api:1.4.2",
					Location: finding.Location{
						Image:       "registry.example.com/shop/api:1.4.2",
						LayerIndex:  intPtr(0),
						LayerDiffID: fixtureLayer0,
						Path:        "/var/lib/dpkg/status",
					},
					Remediation: "Upgrade libssl3 (source package openssl) to 3.0.13-1~deb12u1 or later.",
					References:  []string{"https://www.openssl.org/news/secadv/20231106.txt"},
					Attributes: map[string]string{
						FindingAttrPURL: "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12",
						attrPackage:     "libssl3",
						attrInstalled:   "3.0.11-1~deb12u2",
						attrFixed:       "3.0.13-1~deb12u1",
						attrEcosystem:   "Debian:12",
						attrIDs:         "CVE-2023-5678",
						attrCVSS:        "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:N/A:H",
						attrScore:       "5.9",
						attrSource:      "debian",
					},
				},
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
