// Command picket-testbin is a tiny Go program copied into the bookworm test
// image at /usr/local/bin/picket-testbin. It imports a third-party module
// (golang.org/x/sync) so that its embedded build information lists a module
// dependency for the Go binary analyzer to find.
package main

import (
	"context"
	"fmt"
	"os"

	"golang.org/x/sync/errgroup"
)

func main() {
	g, _ := errgroup.WithContext(context.Background())
	results := make([]int, 4)
	for i := range results {
		g.Go(func() error {
			results[i] = i * i
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("picket-testbin", results)
}
