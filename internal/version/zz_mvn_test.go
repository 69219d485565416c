package version

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/google/osv-scalibr/semantic"
)

func TestMvnRealistic(t *testing.T) {
	if os.Getenv("ORACLE") == "" {
		t.Skip()
	}
	vs := strings.Fields(`5.0.0.M1 5.0.0.RC1 5.0.0.RELEASE 5.0.0 5.0.0-M1 5.0.0-RC1 5.0.0.BUILD-SNAPSHOT 5.0.0-SNAPSHOT
2.0.0.Final 2.0.0.CR1 2.0.0.Beta1 2.0.0.Alpha1 2.0.0 1.0.0.GA 9.4.43.v20210629 9.4.44.v20210927 9.4.44
31.1-jre 31.1-android 32.0.0-jre 31.1 1.0-alpha-1 1.0b1 1.0.1-1 1.0-1 1.0.0.Beta2 3.0.0-beta-1 1.0.0-M2 2.13.0-rc1
2.12.7.1 42.2.25.jre7 42.2.25 42.3.0 1.0.0.RC1 1.0.0-RC1 1.0.0.rc2 1.0.0-cr2 2.0.0.RC1 2.0.0-beta1 3.0-alpha-1 1.0-sp1 1.0.sp1
4.1.100.Final 4.1.94.Final 4.1.100.Final-SNAPSHOT 1.2.3.redhat-00001 1.2.3.redhat-00002 1.2.3 1.2.4 6.0.0.Alpha5 6.0.0.Beta1 6.0.0.CR2`)
	// all pairs through maven: list a b a c ... build arg list of pairs
	var args []string
	var pairs [][2]string
	for i := range vs {
		for j := i + 1; j < len(vs); j++ {
			pairs = append(pairs, [2]string{vs[i], vs[j]})
		}
	}
	c, _ := For("Maven")
	bad, badS := 0, 0
	const chunk = 400
	for k := 0; k < len(pairs); k += chunk {
		args = []string{"-cp", "/usr/share/java/maven3-artifact.jar", "org.apache.maven.artifact.versioning.ComparableVersion"}
		end := min(k+chunk, len(pairs))
		for _, p := range pairs[k:end] {
			args = append(args, p[0], p[1], "0")
		}
		out, err := exec.Command("java", args...).Output()
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(string(out), "\n") {
			l = strings.TrimSpace(l)
			if strings.Contains(l, "->") {
				continue
			}
			for op, want := range map[string]int{" < ": -1, " == ": 0, " > ": 1} {
				if !strings.Contains(l, op) {
					continue
				}
				ps := strings.SplitN(l, op, 2)
				if ps[0] == "0" || ps[1] == "0" {
					continue
				}
				got, _ := c.Compare(ps[0], ps[1])
				sc, _ := semantic.ParseMavenVersion(ps[0]).CompareStr(ps[1])
				if got != want {
					bad++
					t.Logf("lib: %s vs %s: lib %d scalibr %d maven %d", ps[0], ps[1], got, sc, want)
				}
				if sc != want {
					badS++
					if got == want {
						t.Logf("scalibr only: %s vs %s: lib %d scalibr %d maven %d", ps[0], ps[1], got, sc, want)
					}
				}
			}
		}
	}
	t.Logf("lib %d scalibr %d disagreements of %d", bad, badS, len(pairs))
}
