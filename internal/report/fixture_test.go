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
// Debian package, a package with a non-SPDX license) and findings of
// several kinds and severities, one with a line number and one without a
// path. Slices are deliberately unsorted.
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
					"fixedVersion":  "3.0.13-1~deb12u1",
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
