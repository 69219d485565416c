// Package java registers the Java archive (jar, war, ear, nested archives, pom.properties, MANIFEST.MF) analyzer (osv-scalibr's language/java/archive extractor).
package java

import (
	"github.com/google/osv-scalibr/extractor"
	archive "github.com/google/osv-scalibr/extractor/filesystem/language/java/archive"
	archivemeta "github.com/google/osv-scalibr/extractor/filesystem/language/java/archive/metadata"

	"github.com/picket-cdr/picket/internal/analyzer"
	"github.com/picket-cdr/picket/internal/analyzer/extract"
	"github.com/picket-cdr/picket/internal/inventory"
)

// Name of the analyzer.
const Name = "java"

func init() {
	analyzer.Register(extract.MustNew(Name, 1, inventory.Maven, archive.New, extract.WithConverter(convert)))
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
