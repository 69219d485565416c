package version

import (
	"sort"
	"testing"
)

// BenchmarkCompare measures one Compare (both versions parsed) per ecosystem.
func BenchmarkCompare(b *testing.B) {
	names := make([]string, 0, len(cases))
	for name := range cases {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		c, err := comparerFor(name)
		if err != nil {
			b.Fatal(err)
		}
		x, y := cases[name].bench[0], cases[name].bench[1]
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Compare(x, y); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
