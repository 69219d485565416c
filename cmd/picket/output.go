package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/mattn/go-isatty"
)

// writeOutput writes a command's report with write. An empty path or "-"
// is stdout, in colour only when it is a terminal and NO_COLOR is unset. A
// path that names an existing non-regular file (/dev/null, a FIFO,
// /dev/stdout) is written in place: renaming over it would replace the
// device. Any other path is written atomically: a temporary file in the same
// directory (mode 0644), renamed over the target once complete, so readers
// never see half a report.
func writeOutput(stdout io.Writer, path string, write func(w io.Writer, color bool) error) error {
	if path == "" || path == "-" {
		color := false
		if f, ok := stdout.(*os.File); ok {
			color = isatty.IsTerminal(f.Fd()) && os.Getenv("NO_COLOR") == ""
		}
		return write(stdout, color)
	}
	if st, err := os.Stat(path); err == nil && !st.Mode().IsRegular() {
		if st.IsDir() {
			return fmt.Errorf("--output: %s is a directory", path)
		}
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return fmt.Errorf("--output: %w", err)
		}
		if err := write(f, false); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("--output: %w", err)
		}
		return nil
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".picket-output-*")
	if err != nil {
		return fmt.Errorf("--output: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := write(tmp, false); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("--output: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("--output: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("--output: %w", err)
	}
	return nil
}
