// Package python registers the Python installed package metadata (wheel METADATA, egg PKG-INFO, .egg) analyzer (osv-scalibr's language/python/wheelegg extractor).
package python

import (
	"github.com/google/osv-scalibr/extractor"
	wheelegg "github.com/google/osv-scalibr/extractor/filesystem/language/python/wheelegg"
	"strings"

	"github.com/picket-cdr/picket/internal/analyzer"
	"github.com/picket-cdr/picket/internal/analyzer/extract"
	"github.com/picket-cdr/picket/internal/inventory"
)

// Name of the analyzer.
const Name = "python"

func init() {
	analyzer.Register(extract.MustNew(Name, 1, inventory.PyPI, wheelegg.New, extract.WithConverter(convert)))
}

func convert(in *extractor.Package, out *inventory.Package) {
	out.Name = strings.ToLower(out.Name)
}
