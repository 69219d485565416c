package version

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"strings"
	"testing"
)

func genVersions(name string, alphabet string, n int, r *rand.Rand) []string {
	tc := cases[name]
	var seeds []string
	for _, ch := range tc.chains {
		seeds = append(seeds, ch...)
	}
	for _, p := range tc.equal {
		seeds = append(seeds, p[0], p[1])
	}
	c, _ := comparerFor(name)
	var out []string
	for len(out) < n {
		s := seeds[r.Intn(len(seeds))]
		switch r.Intn(4) {
		case 0: // splice
			t := seeds[r.Intn(len(seeds))]
			s = s[:r.Intn(len(s)+1)] + t[r.Intn(len(t)+1):]
		case 1: // insert
			i := r.Intn(len(s) + 1)
			s = s[:i] + string(alphabet[r.Intn(len(alphabet))]) + s[i:]
		case 2: // delete
			if len(s) > 1 {
				i := r.Intn(len(s))
				s = s[:i] + s[i+1:]
			}
		case 3: // replace
			i := r.Intn(len(s))
			s = s[:i] + string(alphabet[r.Intn(len(alphabet))]) + s[i+1:]
		}
		if c.Valid(s) {
			out = append(out, s)
		}
	}
	return out
}

func genRaw(name string, alphabet string, n int, r *rand.Rand) []string {
	tc := cases[name]
	var seeds []string
	for _, ch := range tc.chains {
		seeds = append(seeds, ch...)
	}
	var out []string
	for len(out) < n {
		s := seeds[r.Intn(len(seeds))]
		i := r.Intn(len(s))
		s = s[:i] + string(alphabet[r.Intn(len(alphabet))]) + s[i+1:]
		out = append(out, s)
	}
	return out
}

func TestOracleDpkg(t *testing.T) {
	if os.Getenv("ORACLE") == "" {
		t.Skip()
	}
	r := rand.New(rand.NewSource(1))
	vs := genVersions("Debian", "0123456789.~+-:abzAZ", 3000, r)
	c, _ := For("Debian")
	bad := 0
	// validity on raw mutations
	raw := genRaw("Debian", "0123456789.~+-:abzAZ_", 1500, r)
	badV := 0
	for _, v := range raw {
		o, err := exec.Command("dpkg", "--compare-versions", v, "eq", v).CombinedOutput()
		if err == nil && strings.Contains(string(o), "bad syntax") {
			err = fmt.Errorf("%s", o)
		}
		if (err == nil) != c.Valid(v) {
			badV++
			if badV < 15 {
				t.Errorf("validity %q: ours %v dpkg %v", v, c.Valid(v), err)
			}
		}
	}
	t.Logf("%d validity disagreements of %d", badV, len(raw))
	for i := 0; i+1 < len(vs); i += 2 {
		a, b := vs[i], vs[i+1]
		got, _ := c.Compare(a, b)
		want := 0
		if exec.Command("dpkg", "--compare-versions", a, "lt", b).Run() == nil {
			want = -1
		} else if exec.Command("dpkg", "--compare-versions", a, "gt", b).Run() == nil {
			want = 1
		}
		if got != want {
			bad++
			if bad < 20 {
				t.Errorf("%q vs %q: got %d dpkg %d", a, b, got, want)
			}
		}
	}
	t.Logf("%d disagreements of %d", bad, len(vs)/2)
}

func TestOracleMaven(t *testing.T) {
	if os.Getenv("ORACLE") == "" {
		t.Skip()
	}
	r := rand.New(rand.NewSource(1))
	vs := genVersions("Maven", "0123456789.-abcdefgilmnoprstxyzABC_", 4000, r)
	out, err := exec.Command("java", "-cp", "/usr/share/java/maven3-artifact.jar", "org.apache.maven.artifact.versioning.ComparableVersion").Output()
	_ = out
	args := append([]string{"-cp", "/usr/share/java/maven3-artifact.jar", "org.apache.maven.artifact.versioning.ComparableVersion"}, vs...)
	out, err = exec.Command("java", args...).Output()
	if err != nil {
		t.Fatal(err)
	}
	c, _ := For("Maven")
	lines := strings.Split(string(out), "\n")
	bad, n := 0, 0
	for _, l := range lines {
		l = strings.TrimSpace(l)
		var op string
		for _, o := range []string{" < ", " == ", " > "} {
			if strings.Contains(l, o) && !strings.Contains(l, "->") {
				op = o
			}
		}
		if op == "" {
			continue
		}
		parts := strings.SplitN(l, op, 2)
		want := map[string]int{" < ": -1, " == ": 0, " > ": 1}[op]
		got, err := c.Compare(parts[0], parts[1])
		n++
		if err != nil || got != want {
			bad++
			if bad < 30 {
				t.Errorf("%q vs %q: got %d (%v) maven %d", parts[0], parts[1], got, err, want)
			}
		}
	}
	t.Logf("%d disagreements of %d", bad, n)
}

func TestOracleNpm(t *testing.T) {
	if os.Getenv("ORACLE") == "" {
		t.Skip()
	}
	r := rand.New(rand.NewSource(1))
	for _, name := range []string{"npm", "SEMVER"} {
		vs := genVersions(name, "0123456789.-+abcrvxX", 4000, r)
		// also check validity agreement on raw mutations
		js, _ := json.Marshal(vs)
		cmd := exec.Command("node", "-e", `
const semver = require('/usr/lib/node_modules/npm/node_modules/semver');
let d=''; process.stdin.on('data',c=>d+=c); process.stdin.on('end',()=>{
 const vs=JSON.parse(d); const out=[];
 for (let i=0;i+1<vs.length;i+=2){ let r; try { r = semver.compare(vs[i], vs[i+1]); } catch(e) { r = 'err' } out.push([vs[i],vs[i+1],r]); }
 console.log(JSON.stringify(out)); });`)
		cmd.Stdin = bytes.NewReader(js)
		out, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		var res [][3]any
		if err := json.Unmarshal(out, &res); err != nil {
			t.Fatal(err)
		}
		c, _ := comparerFor(name)
		bad := 0
		for _, x := range res {
			a, b := x[0].(string), x[1].(string)
			got, err := c.Compare(a, b)
			want := fmt.Sprint(x[2])
			if err != nil || fmt.Sprint(got) != want {
				bad++
				if bad < 20 {
					t.Errorf("%s: %q vs %q: got %d (%v) node %s", name, a, b, got, err, want)
				}
			}
		}
		t.Logf("%s: %d disagreements of %d", name, bad, len(res))
	}
}

func TestOraclePyPI(t *testing.T) {
	if os.Getenv("ORACLE") == "" {
		t.Skip()
	}
	r := rand.New(rand.NewSource(2))
	vs := genVersions("PyPI", "0123456789.-_+!abcdeloprstvABCDLOPRSTV", 40000, r)
	raw := genRaw("PyPI", "0123456789.-_+!abcdeloprstvABCDLOPRSTV", 20000, r)
	js, _ := json.Marshal(map[string][]string{"pairs": vs, "raw": raw})
	cmd := exec.Command("python3", "-c", `
import json, sys
from pip._vendor.packaging.version import Version, InvalidVersion
d = json.load(sys.stdin)
def ok(v):
    try:
        Version(v); return True
    except InvalidVersion:
        return False
out = {"valid": [ok(v) for v in d["raw"]], "cmp": []}
p = d["pairs"]
for i in range(0, len(p)-1, 2):
    a, b = Version(p[i]), Version(p[i+1])
    out["cmp"].append((a > b) - (a < b))
print(json.dumps(out))`)
	cmd.Stdin = bytes.NewReader(js)
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Valid []bool
		Cmp   []int
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatal(err)
	}
	c, _ := For("PyPI")
	badV := 0
	for i, v := range raw {
		if c.Valid(v) != res.Valid[i] {
			badV++
			if badV < 15 {
				t.Errorf("validity %q: ours %v packaging %v", v, c.Valid(v), res.Valid[i])
			}
		}
	}
	bad := 0
	for i, want := range res.Cmp {
		a, b := vs[2*i], vs[2*i+1]
		got, err := c.Compare(a, b)
		if err != nil || got != want {
			bad++
			if bad < 20 {
				t.Errorf("%q vs %q: got %d (%v) packaging %d", a, b, got, err, want)
			}
		}
	}
	t.Logf("%d validity disagreements of %d, %d order disagreements of %d", badV, len(raw), bad, len(res.Cmp))
}

func TestOracleNpmValid(t *testing.T) {
	if os.Getenv("ORACLE") == "" {
		t.Skip()
	}
	r := rand.New(rand.NewSource(3))
	raw := genRaw("npm", "0123456789.-+abcrvxX=", 20000, r)
	js, _ := json.Marshal(raw)
	cmd := exec.Command("node", "-e", `
const semver = require('/usr/lib/node_modules/npm/node_modules/semver');
let d=''; process.stdin.on('data',c=>d+=c); process.stdin.on('end',()=>{
 console.log(JSON.stringify(JSON.parse(d).map(v => semver.valid(v) !== null))); });`)
	cmd.Stdin = bytes.NewReader(js)
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	var res []bool
	json.Unmarshal(out, &res)
	c, _ := For("npm")
	bad := 0
	for i, v := range raw {
		if c.Valid(v) != res[i] {
			bad++
			if bad < 15 {
				t.Errorf("validity %q: ours %v node %v", v, c.Valid(v), res[i])
			}
		}
	}
	t.Logf("%d validity disagreements of %d", bad, len(raw))
}
