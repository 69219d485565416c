// Package java registers the Java archive (jar, war, ear, nested archives, pom.properties, MANIFEST.MF) analyzer (osv-scalibr's language/java/archive extractor).
package java

import (
	"archive/zip"
	"context"
	"fmt"
	"strings"

	"github.com/google/osv-scalibr/extractor"
	"github.com/google/osv-scalibr/extractor/filesystem"
	archive "github.com/google/osv-scalibr/extractor/filesystem/language/java/archive"
	archivemeta "github.com/google/osv-scalibr/extractor/filesystem/language/java/archive/metadata"

	cpb "github.com/google/osv-scalibr/binary/proto/config_go_proto"

	"github.com/picket-cdr/picket/internal/analyzer"
	"github.com/picket-cdr/picket/internal/analyzer/extract"
	"github.com/picket-cdr/picket/internal/finding"
	"github.com/picket-cdr/picket/internal/inventory"
)

// Name of the analyzer.
const Name = "java"

// Limits on nested archives. scalibr reads each nested archive into memory
// and by default allows 16 levels and 4 GiB in all: a zip bomb inside a jar
// could then hold gigabytes. Picket allows 8 levels and 128 MiB of nested
// content per top-level archive; past that the archive's extraction stops
// with an error the scan counts and reports.
const (
	MaxZipDepth    = 8
	MaxOpenedBytes = 128 << 20
)

// LimitRuleID marks an archive whose nested archives were not all
// extracted because of the limits above.
const LimitRuleID = "PKT-SCAN-ARCHIVE-LIMIT"

func init() {
	analyzer.Register(&javaAnalyzer{Adapter: extract.MustNew(Name, 2, inventory.Maven, newArchive, extract.WithConverter(convert))})
}

// javaAnalyzer is scalibr's extractor plus a look at the archive's central
// directory: scalibr skips nested archives above its byte budget without
// saying so, and Picket reports every skip.
type javaAnalyzer struct{ *extract.Adapter }

// nestedExts are the archive kinds scalibr opens inside an archive.
var nestedExts = []string{".jar", ".war", ".ear", ".jmod", ".par", ".sar", ".jpi", ".hpi", ".lpkg", ".nar", ".zip"}

func (a *javaAnalyzer) Analyze(ctx context.Context, in *analyzer.Input) (*analyzer.Result, error) {
	over := overBudget(in.Content)
	res, err := a.Adapter.Analyze(ctx, in)
	if len(over) == 0 {
		return res, err
	}
	f := &finding.Finding{
		Kind: finding.KindScan, Severity: finding.Low, RuleID: LimitRuleID,
		Title: "Nested archives above the extraction limit were not analysed",
		Description: fmt.Sprintf("%s holds nested archives whose uncompressed size exceeds the %d MiB budget per archive (a decompression bomb, or a very large application); "+
			"packages inside them are missing from the inventory.", in.Path, MaxOpenedBytes>>20),
		Evidence: strings.Join(over, ", "),
		Location: finding.Location{Path: in.Path},
		Tags:     []string{"limit"},
	}
	if err != nil {
		return nil, fmt.Errorf("%w (and %s: %s)", err, f.Title, f.Evidence)
	}
	res.Findings = append(res.Findings, f)
	return res, nil
}

// overBudget lists the nested archives (with their declared uncompressed
// sizes) that take the archive past MaxOpenedBytes. It reads only the
// central directory; content that is not a zip yields nothing.
func overBudget(c analyzer.Content) []string {
	zr, err := zip.NewReader(c, c.Size())
	if err != nil {
		return nil
	}
	var total uint64
	var over []string
	for _, f := range zr.File {
		lower := strings.ToLower(f.Name)
		nested := false
		for _, e := range nestedExts {
			nested = nested || strings.HasSuffix(lower, e)
		}
		if !nested {
			continue
		}
		total += f.UncompressedSize64
		if total > MaxOpenedBytes && len(over) < 10 {
			over = append(over, fmt.Sprintf("%s (%d MiB)", f.Name, f.UncompressedSize64>>20))
		}
	}
	return over
}

func newArchive(cfg *cpb.PluginConfig) (filesystem.Extractor, error) {
	cfg.PluginSpecific = append(cfg.PluginSpecific, &cpb.PluginSpecificConfig{
		Config: &cpb.PluginSpecificConfig_JavaArchive{JavaArchive: &cpb.JavaArchiveConfig{
			MaxZipDepth:    MaxZipDepth,
			MaxOpenedBytes: MaxOpenedBytes,
		}},
	})
	return archive.New(cfg)
}

func convert(in *extractor.Package, out *inventory.Package) {
	m, ok := in.Metadata.(*archivemeta.Metadata)
	if !ok {
		return
	}
	out.Extra = map[string]string{"groupId": m.GroupID, "artifactId": m.ArtifactID}
	if m.SHA1 != "" {
		out.Extra["sha1"] = m.SHA1
	}
}
