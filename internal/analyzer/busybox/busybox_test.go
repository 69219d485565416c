package busybox

import (
	"os"
	"testing"

	"github.com/picket-cdr/picket/internal/analyzer/analyzertest"
)

func TestBanner(t *testing.T) {
	tests := []struct {
		body, want string
	}{
		{"\x7fELF....BusyBox v1.36.1 (2023-11-07 18:53:09 UTC)\x00", "1.36.1"},
		{"\x7fELF....BusyBox v1.35.0 (Debian 1:1.35.0-4+b3)\x00", "1.35.0"},
		{"\x7fELF....BusyBox v1.38.0.git multi-call\x00", "1.38.0"},
		{"\x7fELF no banner here", ""},
		{"#!/bin/sh\necho BusyBox v1.2.3 \n", ""}, // not a binary
	}
	for _, tt := range tests {
		in := analyzertest.Input("/bin/busybox", []byte(tt.body), 0o755)
		res, err := busyBox{}.Analyze(t.Context(), in)
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		if len(res.Packages) == 1 {
			got = res.Packages[0].Version
		}
		if got != tt.want {
			t.Errorf("%q: got %q, want %q", tt.body, got, tt.want)
		}
	}
}

// TestHostBusybox reads the host's busybox-static when installed.
func TestHostBusybox(t *testing.T) {
	b, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Skipf("no /bin/busybox on this host: %v", err)
	}
	res := analyzertest.Run(t, busyBox{}, "/bin/busybox", b)
	if len(res.Packages) != 1 || res.Packages[0].Version == "" {
		t.Fatalf("packages %+v", res.Packages)
	}
	t.Logf("host busybox %s", res.Packages[0].Version)
}

func FuzzAnalyze(f *testing.F) {
	analyzertest.Fuzz(f, busyBox{}, "/bin/busybox", []byte("\x7fELFBusyBox v1.2.3 "))
}
