// Package report renders what Picket found: a Report holding the scanned
// target, its package inventory and its findings, written as a terminal
// table, JSON, SARIF 2.1.0, CycloneDX 1.6 or SPDX 2.3.
package report

import (
	"time"

	"github.com/picket-cdr/picket/internal/finding"
	"github.com/picket-cdr/picket/internal/inventory"
)

// SchemaVersion of the JSON report; bump on incompatible changes.
const SchemaVersion = 1

// Report is everything one scan produced.
type Report struct {
	SchemaVersion int                  `json:"schemaVersion"`
	Tool          Tool                 `json:"tool"`
	CreatedAt     time.Time            `json:"createdAt"`
	Target        Target               `json:"target"`
	Packages      []*inventory.Package `json:"packages"`
	Findings      []*finding.Finding   `json:"findings"`
	// Suppressed are findings an ignore file or a VEX statement accepted,
	// kept with the reason so that nothing disappears silently.
	Suppressed []*Suppressed `json:"suppressed,omitempty"`
	// VulnDB describes the vulnerability data the scan used; nil when
	// vulnerabilities were not checked at all.
	VulnDB *VulnDB `json:"vulnerabilityDatabase,omitempty"`
	Stats  Stats   `json:"stats"`
}

// Suppressed is a finding set aside by the user's policy.
type Suppressed struct {
	Finding *finding.Finding `json:"finding"`
	Source  string           `json:"source"`           // "ignore-file:PATH", "vex:PATH"
	Status  string           `json:"status,omitempty"` // "ignored", "not_affected", "fixed"
	Reason  string           `json:"reason"`
	// Justification is the OpenVEX justification label of a VEX statement.
	Justification string `json:"justification,omitempty"`
}

// VulnDB states whether and against what vulnerabilities were checked.
type VulnDB struct {
	// Status is "ok", "stale" (older than the configured age) or "missing"
	// (no database: vulnerabilities were not checked).
	Status    string    `json:"status"`
	UpdatedAt time.Time `json:"updatedAt,omitzero"` // the oldest source's update time
	Sources   []string  `json:"sources,omitempty"`
	// Packages looked up, packages no feed covers, and version errors.
	Packages    int      `json:"packages"`
	Unsupported int      `json:"unsupported"`
	Errors      int      `json:"errors"`
	ErrorSample []string `json:"errorSample,omitempty"`
	// OwnedByOS counts language packages installed by OS packages, which
	// are covered by the distro's advisories instead of upstream ones.
	OwnedByOS int `json:"ownedByOS"`
}

// Tool names the producer.
type Tool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Target describes the scanned image (or host).
type Target struct {
	Name         string           `json:"name"`              // as the user named it
	Kind         string           `json:"kind"`              // "image", "rootfs", "host"
	Source       string           `json:"source"`            // transport: docker-archive, oci, registry ...
	ImageID      string           `json:"imageId,omitempty"` // config digest
	Digest       string           `json:"digest,omitempty"`  // manifest digest when known
	RepoTags     []string         `json:"repoTags,omitempty"`
	OS           string           `json:"os,omitempty"`
	Architecture string           `json:"architecture,omitempty"`
	Distro       inventory.Distro `json:"distro"`
	Layers       []Layer          `json:"layers"`
}

// Layer summarises one image layer.
type Layer struct {
	Index     int    `json:"index"`
	DiffID    string `json:"diffId"`
	Size      int64  `json:"size"`  // uncompressed bytes
	Files     int    `json:"files"` // entries in the layer tar
	CreatedBy string `json:"createdBy,omitempty"`
	Cached    bool   `json:"cached"` // analysis came from the layer cache
}

// Stats counts the work a scan did and what it skipped.
type Stats struct {
	Files           int           `json:"files"`           // files in the final filesystem
	Bytes           int64         `json:"bytes"`           // uncompressed bytes read
	FilesAnalyzed   int           `json:"filesAnalyzed"`   // files handed to analyzers
	SkippedTooLarge int           `json:"skippedTooLarge"` // files over the size limit
	SkippedUnsafe   int           `json:"skippedUnsafe"`   // entries with unsafe names or types
	AnalyzerErrors  int           `json:"analyzerErrors"`
	LayersCached    int           `json:"layersCached"`
	Duration        time.Duration `json:"durationNs"`
}
