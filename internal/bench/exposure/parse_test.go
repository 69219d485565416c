package exposure

import (
	"os"
	"path/filepath"
	"testing"
)

// testdata: docker-version.json was recorded from this machine's Docker
// Engine (20.10, GET /version); the Kubernetes files (API server /version and
// /api, kubelet /pods) and the registry catalog follow those services'
// documented answers, as no cluster runs here.
func read(t testing.TB, name string) []byte {
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParsers(t *testing.T) {
	if v, ok := ParseDockerVersion(read(t, "docker-version.json")); !ok || v.APIVersion == "" || v.Version == "" {
		t.Errorf("docker version: %+v %v", v, ok)
	}
	if _, ok := ParseDockerVersion(read(t, "k8s-version.json")); ok {
		t.Error("a Kubernetes /version taken for Docker")
	}
	if v, ok := ParseK8sVersion(read(t, "k8s-version.json")); !ok || v.GitVersion != "v1.29.4" {
		t.Errorf("k8s version: %+v %v", v, ok)
	}
	if _, ok := ParseK8sVersion(read(t, "docker-version.json")); ok {
		t.Error("a Docker /version taken for Kubernetes")
	}
	if vs, ok := ParseAPIVersions(read(t, "k8s-api.json")); !ok || len(vs) != 1 || vs[0] != "v1" {
		t.Errorf("api versions: %v %v", vs, ok)
	}
	if pods, ok := ParsePodList(read(t, "kubelet-pods.json")); !ok || len(pods) != 2 || pods[0] != "kube-system/kube-proxy-x7k2p" {
		t.Errorf("pods: %v %v", pods, ok)
	}
	if repos, err := ParseCatalog(read(t, "registry-catalog.json")); err != nil || len(repos) != 3 {
		t.Errorf("catalog: %v %v", repos, err)
	}
	if _, err := ParseCatalog([]byte(`{"errors":[{"code":"UNAUTHORIZED"}]}`)); err == nil {
		t.Error("an error document taken for a catalog")
	}
	if cs, err := ParseContainerList([]byte(`[{"Id":"0123456789abcdef","Names":["/web"],"Image":"nginx"}]`)); err != nil || cs[0].Name() != "web" {
		t.Errorf("containers: %+v %v", cs, err)
	}
}

func FuzzParsers(f *testing.F) {
	for _, n := range []string{"docker-version.json", "k8s-version.json", "k8s-api.json", "kubelet-pods.json", "registry-catalog.json"} {
		f.Add(read(f, n))
	}
	f.Add([]byte(`null`))
	f.Add([]byte(`[{"Names":null}]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ParseDockerVersion(b)
		ParseDockerInfo(b)
		if cs, err := ParseContainerList(b); err == nil {
			for _, c := range cs {
				_ = c.Name()
			}
		}
		ParseK8sVersion(b)
		ParseAPIVersions(b)
		ParsePodList(b)
		ParseCatalog(b)
	})
}
