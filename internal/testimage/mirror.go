package testimage

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// MirrorEnv names the environment variable that overrides the Debian mirror
// used by debootstrap.
const MirrorEnv = "PICKET_DEBIAN_MIRROR"

// aptSource is one "deb" source: a repository URI and its suites.
type aptSource struct {
	URI    string
	Suites []string
}

// DebianMirror returns the Debian mirror debootstrap should use for suite:
// $PICKET_DEBIAN_MIRROR when set, otherwise the first "deb" source in the
// machine's apt configuration (/etc/apt/sources.list, then
// /etc/apt/sources.list.d/*.list and *.sources in name order) that lists the
// suite itself (not only suite-security or suite-updates).
func DebianMirror(suite string) (string, error) {
	if m := strings.TrimSpace(os.Getenv(MirrorEnv)); m != "" {
		return m, nil
	}
	return mirrorFromApt("/etc/apt", suite)
}

func mirrorFromApt(aptDir, suite string) (string, error) {
	files := []string{filepath.Join(aptDir, "sources.list")}
	var parts []string
	for _, pat := range []string{"*.list", "*.sources"} {
		m, err := filepath.Glob(filepath.Join(aptDir, "sources.list.d", pat))
		if err != nil {
			return "", err
		}
		parts = append(parts, m...)
	}
	sort.Strings(parts)
	files = append(files, parts...)

	var seen []string
	for _, name := range files {
		f, err := os.Open(name)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return "", err
		}
		var srcs []aptSource
		if strings.HasSuffix(name, ".sources") {
			srcs, err = parseDeb822Sources(f)
		} else {
			srcs, err = parseOneLineSources(f)
		}
		f.Close()
		if err != nil {
			return "", fmt.Errorf("testimage: parse %s: %w", name, err)
		}
		for _, s := range srcs {
			seen = append(seen, s.URI)
			if slices.Contains(s.Suites, suite) {
				return strings.TrimRight(s.URI, "/"), nil
			}
		}
	}
	return "", fmt.Errorf("testimage: no apt source for suite %q under %s (deb sources seen: %v); set %s", suite, aptDir, seen, MirrorEnv)
}

// parseOneLineSources reads the classic format:
//
//	deb [ option=value ... ] uri suite [component ...]
func parseOneLineSources(r io.Reader) ([]aptSource, error) {
	var out []aptSource
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		fields := strings.Fields(line)
		if len(fields) < 3 || fields[0] != "deb" {
			continue
		}
		fields = fields[1:]
		if strings.HasPrefix(fields[0], "[") {
			// Options run up to the field that ends with "]".
			for len(fields) > 0 && !strings.HasSuffix(fields[0], "]") {
				fields = fields[1:]
			}
			if len(fields) > 0 {
				fields = fields[1:]
			}
		}
		if len(fields) < 2 {
			continue
		}
		out = append(out, aptSource{URI: fields[0], Suites: []string{fields[1]}})
	}
	return out, sc.Err()
}

// parseDeb822Sources reads the deb822 format (stanzas of "Field: value"
// separated by blank lines; continuation lines start with white space).
func parseDeb822Sources(r io.Reader) ([]aptSource, error) {
	var out []aptSource
	stanza := map[string]string{}
	last := ""
	flush := func() {
		defer func() { stanza = map[string]string{}; last = "" }()
		if len(stanza) == 0 {
			return
		}
		if strings.EqualFold(strings.TrimSpace(stanza["enabled"]), "no") {
			return
		}
		if !slices.Contains(strings.Fields(stanza["types"]), "deb") {
			return
		}
		suites := strings.Fields(stanza["suites"])
		for _, uri := range strings.Fields(stanza["uris"]) {
			out = append(out, aptSource{URI: uri, Suites: suites})
		}
	}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "#"):
			continue
		case strings.TrimSpace(line) == "":
			flush()
		case line[0] == ' ' || line[0] == '\t':
			if last != "" {
				stanza[last] += " " + strings.TrimSpace(line)
			}
		default:
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				return nil, fmt.Errorf("malformed line %q", line)
			}
			last = strings.ToLower(strings.TrimSpace(k))
			stanza[last] = strings.TrimSpace(v)
		}
	}
	flush()
	return out, sc.Err()
}
