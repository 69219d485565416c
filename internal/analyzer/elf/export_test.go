package elf

import "testing"

// Helpers for the image tests in package elf_test.
var (
	UPXLayout = upxLayout
	Program   = program
	CC        = cc
	UPXTool   = upxTool
	UPXPack   = upxPack
	MinerC    = minerC
	HiderC    = hiderC
	HelloC    = helloC
)

// HostileELF is an executable whose program header table is absurd.
func HostileELF(t testing.TB) []byte { return hostileELFs(t)["absurd phnum"] }
