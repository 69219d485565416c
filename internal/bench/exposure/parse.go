package exposure

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
)

// Parsers of the answers of probed services. Every byte comes from a host
// that may be hostile: bodies are bounded by the caller (maxBody) and the
// parsers only decode into small fixed structures.

// DockerVersion is the part of GET /version a Docker Engine answers.
type DockerVersion struct {
	Version       string `json:"Version"`
	APIVersion    string `json:"ApiVersion"`
	Os            string `json:"Os"`
	Arch          string `json:"Arch"`
	KernelVersion string `json:"KernelVersion"`
}

// ParseDockerVersion recognises a Docker Engine /version answer.
func ParseDockerVersion(b []byte) (DockerVersion, bool) {
	var v DockerVersion
	if err := decodeObject(b, &v); err != nil {
		return DockerVersion{}, false
	}
	if v.APIVersion == "" || v.Version == "" {
		return DockerVersion{}, false
	}
	return v, true
}

// DockerInfo is the part of GET /info the report uses.
type DockerInfo struct {
	Name              string   `json:"Name"`
	ServerVersion     string   `json:"ServerVersion"`
	OperatingSystem   string   `json:"OperatingSystem"`
	Containers        int      `json:"Containers"`
	ContainersRunning int      `json:"ContainersRunning"`
	Images            int      `json:"Images"`
	DockerRootDir     string   `json:"DockerRootDir"`
	SecurityOptions   []string `json:"SecurityOptions"`
	Swarm             struct {
		LocalNodeState   string `json:"LocalNodeState"`
		ControlAvailable bool   `json:"ControlAvailable"`
	} `json:"Swarm"`
}

// ParseDockerInfo decodes GET /info.
func ParseDockerInfo(b []byte) (DockerInfo, error) {
	var v DockerInfo
	err := decodeObject(b, &v)
	return v, err
}

// ContainerBrief is one entry of GET /containers/json.
type ContainerBrief struct {
	ID     string   `json:"Id"`
	Names  []string `json:"Names"`
	Image  string   `json:"Image"`
	State  string   `json:"State"`
	Mounts []struct {
		Source string `json:"Source"`
	} `json:"Mounts"`
}

// Name returns the container's first name without its slash.
func (c ContainerBrief) Name() string {
	if len(c.Names) > 0 {
		return strings.TrimPrefix(c.Names[0], "/")
	}
	if len(c.ID) > 12 {
		return c.ID[:12]
	}
	return c.ID
}

// ParseContainerList decodes GET /containers/json.
func ParseContainerList(b []byte) ([]ContainerBrief, error) {
	var v []ContainerBrief
	if err := json.Unmarshal(bytes.TrimSpace(b), &v); err != nil {
		return nil, err
	}
	return v, nil
}

// K8sVersion is the Kubernetes API server's /version answer.
type K8sVersion struct {
	Major      string `json:"major"`
	Minor      string `json:"minor"`
	GitVersion string `json:"gitVersion"`
	Platform   string `json:"platform"`
}

// ParseK8sVersion recognises a Kubernetes /version answer.
func ParseK8sVersion(b []byte) (K8sVersion, bool) {
	var v K8sVersion
	if err := decodeObject(b, &v); err != nil {
		return K8sVersion{}, false
	}
	if v.GitVersion == "" || v.Major == "" {
		return K8sVersion{}, false
	}
	return v, true
}

// ParseAPIVersions recognises GET /api (kind APIVersions).
func ParseAPIVersions(b []byte) ([]string, bool) {
	var v struct {
		Kind     string   `json:"kind"`
		Versions []string `json:"versions"`
	}
	if err := decodeObject(b, &v); err != nil || v.Kind != "APIVersions" {
		return nil, false
	}
	return v.Versions, true
}

// ParsePodList recognises a PodList (the API server's or the kubelet's
// /pods) and returns "namespace/name" of its pods.
func ParsePodList(b []byte) ([]string, bool) {
	var v struct {
		Kind  string `json:"kind"`
		Items []struct {
			Metadata struct {
				Name      string `json:"name"`
				Namespace string `json:"namespace"`
			} `json:"metadata"`
		} `json:"items"`
	}
	if err := decodeObject(b, &v); err != nil || v.Kind != "PodList" {
		return nil, false
	}
	out := make([]string, 0, len(v.Items))
	for _, it := range v.Items {
		out = append(out, it.Metadata.Namespace+"/"+it.Metadata.Name)
	}
	return out, true
}

// ParseCatalog decodes a registry's GET /v2/_catalog.
func ParseCatalog(b []byte) ([]string, error) {
	var v struct {
		Repositories *[]string `json:"repositories"`
	}
	if err := decodeObject(b, &v); err != nil {
		return nil, err
	}
	if v.Repositories == nil {
		return nil, errors.New("no repositories field")
	}
	return *v.Repositories, nil
}

// decodeObject decodes one JSON object (a JSON null or another type is an
// error).
func decodeObject(b []byte, v any) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '{' {
		return errors.New("not a JSON object")
	}
	return json.Unmarshal(b, v)
}
