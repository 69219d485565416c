// Package apk registers the Alpine package database (/lib/apk/db/installed) analyzer (osv-scalibr's os/apk extractor).
package apk

import (
	"github.com/google/osv-scalibr/extractor"
	apkx "github.com/google/osv-scalibr/extractor/filesystem/os/apk"
	apkmeta "github.com/google/osv-scalibr/extractor/filesystem/os/apk/metadata"

	"github.com/picket-cdr/picket/internal/analyzer"
	"github.com/picket-cdr/picket/internal/analyzer/extract"
	"github.com/picket-cdr/picket/internal/inventory"
)

// Name of the analyzer.
const Name = "apk"

func init() {
	analyzer.Register(extract.MustNew(Name, 1, inventory.Alpine, apkx.New, extract.WithConverter(convert)))
}

func convert(in *extractor.Package, out *inventory.Package) {
	m, ok := in.Metadata.(*apkmeta.Metadata)
	if !ok {
		return
	}
	out.SourceName, out.SourceVersion, out.Arch = m.OriginName, out.Version, m.Architecture
	if out.SourceName == "" {
		out.SourceName = m.PackageName
	}
}
