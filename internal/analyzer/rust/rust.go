// Package rust registers the Rust cargo-auditable binary analyzer (osv-scalibr's language/rust/cargoauditable extractor).
package rust

import (
	cargoauditable "github.com/google/osv-scalibr/extractor/filesystem/language/rust/cargoauditable"

	"github.com/picket-cdr/picket/internal/analyzer"
	"github.com/picket-cdr/picket/internal/analyzer/extract"
	"github.com/picket-cdr/picket/internal/inventory"
)

// Name of the analyzer.
const Name = "rust"

func init() {
	analyzer.Register(extract.MustNew(Name, 1, inventory.CratesIO, cargoauditable.New))
}
