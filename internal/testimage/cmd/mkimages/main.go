// Command mkimages builds (or reuses) Picket's test images in the local
// Docker Engine and prints one line per image:
//
//	REF <tab> ID <tab> ARCHIVE
//
// ARCHIVE is the `docker save` tarball written with -save DIR ("-" without
// it). It is a development tool for bench/ scripts and humans; tests use
// package testimage directly.
//
//	go run ./internal/testimage/cmd/mkimages -save .bench bookworm busybox
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"

	"github.com/picket-cdr/picket/internal/testimage"
)

func main() {
	save := flag.String("save", "", "also `docker save` each image into this directory")
	quiet := flag.Bool("q", false, "do not log progress to stderr")
	rootfs := flag.Bool("rootfs", false, "print each image's root filesystem directory instead (bookworm only has one)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: mkimages [-save DIR] [-q] [-rootfs] [bookworm] [busybox]\n(no names: both)\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	log.SetFlags(log.Ltime)
	log.SetPrefix("mkimages: ")

	builders := map[string]func(context.Context) (testimage.Image, error){
		"bookworm": testimage.Bookworm,
		"busybox":  testimage.Busybox,
	}
	names := flag.Args()
	if len(names) == 0 {
		names = []string{"bookworm", "busybox"}
	}
	for _, n := range names {
		if builders[n] == nil {
			log.Printf("unknown image %q", n)
			flag.Usage()
			os.Exit(2)
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if !*quiet {
		ctx = testimage.WithLog(ctx, log.Printf)
	}
	if *save != "" {
		if err := os.MkdirAll(*save, 0o755); err != nil {
			log.Fatal(err)
		}
	}
	for _, n := range names {
		img, err := builders[n](ctx)
		if err != nil {
			log.Fatalf("%s: %v", n, err)
		}
		archive := "-"
		if *save != "" {
			if archive, err = img.SaveArchive(ctx, *save); err != nil {
				log.Fatalf("%s: %v", n, err)
			}
		}
		if *rootfs {
			fmt.Println(img.RootFS)
			continue
		}
		fmt.Printf("%s\t%s\t%s\n", img.Ref, img.ID, archive)
	}
}
