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
	Stats         Stats                `json:"stats"`
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
