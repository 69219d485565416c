package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestInRange(t *testing.T) {
	ev := func(kv ...string) []map[string]string {
		var out []map[string]string
		for i := 0; i < len(kv); i += 2 {
			out = append(out, map[string]string{kv[i]: kv[i+1]})
		}
		return out
	}
	for _, c := range []struct {
		eco, version string
		events       []map[string]string
		want         bool
	}{
		{"Go", "1.22.0", ev("introduced", "0", "fixed", "1.21.8", "introduced", "1.22.0-0", "fixed", "1.22.1"), true},
		{"Go", "1.22.1", ev("introduced", "0", "fixed", "1.21.8", "introduced", "1.22.0-0", "fixed", "1.22.1"), false},
		{"Go", "1.21.9", ev("introduced", "0", "fixed", "1.21.8", "introduced", "1.22.0-0", "fixed", "1.22.1"), false},
		{"Go", "v0.3.5", ev("introduced", "0", "fixed", "0.3.7"), true},
		{"Go", "0.0.0-20210226172049-e18ecbb05110", ev("introduced", "0", "fixed", "0.0.0-20210520170846-37e1c6afe023"), true},
		{"Go", "3.2.0+incompatible", ev("introduced", "0"), true},
		{"PyPI", "2.2", ev("introduced", "2.2", "fixed", "2.2.2"), true},
		{"PyPI", "2.2.0", ev("introduced", "0", "fixed", "2.2"), false},
		{"PyPI", "1.24.1", ev("introduced", "0", "last_affected", "1.24.1"), true},
		{"PyPI", "1.24.2", ev("introduced", "0", "last_affected", "1.24.1"), false},
		{"PyPI", "2.10", ev("introduced", "0", "fixed", "2.10.1"), true},
		{"PyPI", "3.0rc1", ev("introduced", "3.0a1", "fixed", "3.0"), true},
	} {
		got, desc, err := inRange(c.eco, c.version, c.events)
		if err != nil || got != c.want {
			t.Errorf("%s %s in %s = %v, %v; want %v", c.eco, c.version, desc, got, err, c.want)
		}
	}
}

func TestRun(t *testing.T) {
	dir := t.TempDir()
	rec := `{"id":"PYSEC-1","aliases":["CVE-1"],"affected":[{"package":{"ecosystem":"PyPI","name":"Flask-Cors"},
	  "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"3.0.9"}]}],"versions":["3.0.8"]}]}`
	if err := os.WriteFile(filepath.Join(dir, "PYSEC-1.json"), []byte(rec), 0o644); err != nil {
		t.Fatal(err)
	}
	idx, err := load([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	in := strings.Join([]string{
		`{"ecosystem":"PyPI","name":"flask_cors","version":"3.0.8","ids":["CVE-1","GHSA-x"]}`,
		`{"ecosystem":"PyPI","name":"flask-cors","version":"3.0.9","ids":["PYSEC-1"]}`,
		`{"ecosystem":"PyPI","name":"Flask.Cors","version":"3.0.8"}`,
		`{"ecosystem":"PyPI","name":"requests","version":"2.0.0"}`,
	}, "\n")
	var out bytes.Buffer
	if err := run(idx, strings.NewReader(in), &out); err != nil {
		t.Fatal(err)
	}
	var got []answer
	dec := json.NewDecoder(&out)
	for dec.More() {
		var a answer
		if err := dec.Decode(&a); err != nil {
			t.Fatal(err)
		}
		got = append(got, a)
	}
	if len(got) != 4 || len(got[0].Records) != 1 || !got[0].Records[0].Affected ||
		len(got[0].Unknown) != 1 || got[0].Unknown[0] != "GHSA-x" || got[1].Records[0].Affected ||
		len(got[2].Records) != 1 || !got[2].Records[0].Affected || len(got[2].Unknown) != 0 ||
		len(got[3].Records) != 0 || len(got[3].Unknown) != 0 {
		t.Fatalf("answers = %+v", got)
	}
}
