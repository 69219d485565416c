package vulndb

import "testing"

// BenchmarkImportShared imports every shared feed (8,158 OSV records, the
// v3.10 secdb and KEV). Target: under 10 s.
func BenchmarkImportShared(b *testing.B) {
	paths := []string{
		shared(b, "data/osv/Go"), shared(b, "data/osv/PyPI"), shared(b, "data/osv/crates.io"),
		shared(b, "data/secdb/alpine/v3.10"), shared(b, "data/kev"),
	}
	for i := 0; i < b.N; i++ {
		if _, err := Import(b.TempDir(), paths...); err != nil {
			b.Fatal(err)
		}
	}
}
