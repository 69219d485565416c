// Package dpkg registers the Debian package (dpkg status, distroless status.d) analyzer (osv-scalibr's os/dpkg extractor).
package dpkg

import (
	"github.com/google/osv-scalibr/extractor"
	dpkgx "github.com/google/osv-scalibr/extractor/filesystem/os/dpkg"
	dpkgmeta "github.com/google/osv-scalibr/extractor/filesystem/os/dpkg/metadata"

	"github.com/picket-cdr/picket/internal/analyzer"
	"github.com/picket-cdr/picket/internal/analyzer/extract"
	"github.com/picket-cdr/picket/internal/inventory"
)

// Name of the analyzer.
const Name = "dpkg"

func init() {
	analyzer.Register(extract.MustNew(Name, 1, inventory.Debian, dpkgx.New, extract.WithConverter(convert)))
}

func convert(in *extractor.Package, out *inventory.Package) {
	m, ok := in.Metadata.(*dpkgmeta.Metadata)
	if !ok {
		return
	}
	out.Name = m.PackageName
	out.SourceName, out.SourceVersion, out.Arch = m.SourceName, m.SourceVersion, m.Architecture
	if out.SourceName == "" {
		out.SourceName = m.PackageName
	}
	if out.SourceVersion == "" {
		out.SourceVersion = out.Version
	}
}
