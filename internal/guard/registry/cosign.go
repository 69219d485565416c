package registry

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Cosign's conventions for signatures stored in the registry.
const (
	CosignSignatureAnnotation = "dev.cosignproject.cosign/signature"
	CosignPayloadMediaType    = "application/vnd.dev.cosign.simplesigning.v1+json"
	CosignSignatureType       = "cosign container image signature"
	maxSignaturePayload       = 64 << 10
	maxSignatureLayers        = 32
)

// SignatureTag returns cosign's signature tag for a manifest digest:
// "sha256:abc" -> "sha256-abc.sig".
func SignatureTag(digest string) string { return strings.Replace(digest, ":", "-", 1) + ".sig" }

// SignatureImage builds the image cosign pushes to SignatureTag(digest) in
// the repository dockerRef ("registry.example/team/app"): one layer holding
// the simple-signing payload for digest, with the ECDSA signature of the
// payload's SHA-256 in the layer's CosignSignatureAnnotation. It is the
// counterpart of VerifyPayload, for tests and benchmarks that sign the way
// cosign does.
func SignatureImage(dockerRef, digest string, key *ecdsa.PrivateKey) (v1.Image, error) {
	payload := fmt.Sprintf(`{"critical":{"identity":{"docker-reference":%q},"image":{"docker-manifest-digest":%q},"type":%q},"optional":null}`,
		dockerRef, digest, CosignSignatureType)
	sum := sha256.Sum256([]byte(payload))
	sig, err := ecdsa.SignASN1(rand.Reader, key, sum[:])
	if err != nil {
		return nil, fmt.Errorf("registry: signing: %w", err)
	}
	img, err := mutate.Append(empty.Image, mutate.Addendum{
		Layer:       static.NewLayer([]byte(payload), CosignPayloadMediaType),
		Annotations: map[string]string{CosignSignatureAnnotation: base64.StdEncoding.EncodeToString(sig)},
	})
	if err != nil {
		return nil, fmt.Errorf("registry: signature image: %w", err)
	}
	return mutate.ConfigMediaType(mutate.MediaType(img, types.OCIManifestSchema1), types.OCIConfigJSON), nil
}

// SimpleSigning is the payload cosign signs (Red Hat simple signing).
type SimpleSigning struct {
	Critical struct {
		Identity struct {
			DockerReference string `json:"docker-reference"`
		} `json:"identity"`
		Image struct {
			DockerManifestDigest string `json:"docker-manifest-digest"`
		} `json:"image"`
		Type string `json:"type"`
	} `json:"critical"`
	Optional map[string]any `json:"optional,omitempty"`
}

// LoadPublicKeys reads ECDSA P-256 public keys (PEM "PUBLIC KEY", as
// `cosign generate-key-pair` writes cosign.pub).
func LoadPublicKeys(paths []string) ([]*ecdsa.PublicKey, error) {
	var keys []*ecdsa.PublicKey
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("registry: signature key: %w", err)
		}
		k, err := ParsePublicKey(b)
		if err != nil {
			return nil, fmt.Errorf("registry: signature key %s: %w", p, err)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// ParsePublicKey parses one PEM ECDSA P-256 public key.
func ParsePublicKey(b []byte) (*ecdsa.PublicKey, error) {
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PUBLIC KEY" {
		return nil, errors.New("want a PEM \"PUBLIC KEY\" block")
	}
	k, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		return nil, err
	}
	ek, ok := k.(*ecdsa.PublicKey)
	if !ok || ek.Curve != elliptic.P256() {
		return nil, errors.New("not an ECDSA P-256 public key (keyless and other key types are not supported)")
	}
	return ek, nil
}

// VerifyPayload checks one cosign signature: base64 ASN.1 ECDSA over the
// SHA-256 of payload by one of keys, and a simple-signing payload of the
// right type naming digest.
func VerifyPayload(payload []byte, sigB64 string, digest string, keys []*ecdsa.PublicKey) error {
	sig, err := base64.StdEncoding.DecodeString(sigB64)
	if err != nil {
		return fmt.Errorf("signature is not base64: %w", err)
	}
	sum := sha256.Sum256(payload)
	ok := false
	for _, k := range keys {
		if ecdsa.VerifyASN1(k, sum[:], sig) {
			ok = true
			break
		}
	}
	if !ok {
		return errors.New("signature does not verify with any trusted key")
	}
	var ss SimpleSigning
	if err := json.Unmarshal(payload, &ss); err != nil {
		return fmt.Errorf("payload is not simple-signing JSON: %w", err)
	}
	if ss.Critical.Type != CosignSignatureType {
		return fmt.Errorf("payload type %q is not %q", ss.Critical.Type, CosignSignatureType)
	}
	if ss.Critical.Image.DockerManifestDigest != digest {
		return fmt.Errorf("payload signs %s, not %s", ss.Critical.Image.DockerManifestDigest, digest)
	}
	return nil
}

type ociManifest struct {
	SchemaVersion int             `json:"schemaVersion"`
	MediaType     string          `json:"mediaType"`
	Config        *ociDescriptor  `json:"config"`
	Layers        []ociDescriptor `json:"layers"`
	Manifests     []ociDescriptor `json:"manifests"`
	Subject       *ociDescriptor  `json:"subject"`
}

type ociDescriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int64             `json:"size"`
	Annotations map[string]string `json:"annotations"`
	Platform    map[string]any    `json:"platform"`
}

// verifySignature looks for a valid cosign signature of digest in repo:
// the manifest tagged sha256-<hex>.sig, each of whose layers carries a
// signature annotation over its blob, the simple-signing payload.
func (g *Guard) verifySignature(ctx context.Context, repo, digest string) error {
	keys := g.keys()
	if len(keys) == 0 {
		return errors.New("no signature keys configured")
	}
	resp, err := g.upstreamGet(ctx, "/v2/"+repo+"/manifests/"+SignatureTag(digest),
		"application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return fmt.Errorf("no cosign signature (tag %s missing)", SignatureTag(digest))
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("reading signature manifest: upstream answered %s", resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("reading signature manifest: %w", err)
	}
	var m ociManifest
	if err := json.Unmarshal(body, &m); err != nil {
		return fmt.Errorf("signature manifest: %w", err)
	}
	if len(m.Layers) > maxSignatureLayers {
		return fmt.Errorf("signature manifest has %d layers (limit %d)", len(m.Layers), maxSignatureLayers)
	}
	var problems []string
	for _, l := range m.Layers {
		sig, ok := l.Annotations[CosignSignatureAnnotation]
		if !ok {
			continue
		}
		if l.Size > maxSignaturePayload || !digestRE.MatchString(l.Digest) || !strings.HasPrefix(l.Digest, "sha256:") {
			problems = append(problems, "payload layer too large or bad digest")
			continue
		}
		payload, err := g.fetchBlob(ctx, repo, l.Digest, maxSignaturePayload)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		if err := VerifyPayload(payload, sig, digest, keys); err != nil {
			problems = append(problems, err.Error())
			continue
		}
		return nil
	}
	if len(problems) == 0 {
		return errors.New("signature manifest holds no cosign signature")
	}
	return fmt.Errorf("no valid signature: %s", strings.Join(problems, "; "))
}

// fetchBlob reads a small blob from the upstream and checks its digest.
func (g *Guard) fetchBlob(ctx context.Context, repo, digest string, limit int64) ([]byte, error) {
	resp, err := g.upstreamGet(ctx, "/v2/"+repo+"/blobs/"+digest, "")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("blob %s: upstream answered %s", digest, resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("blob %s: %w", digest, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("blob %s larger than %d bytes", digest, limit)
	}
	sum := sha256.Sum256(b)
	if "sha256:"+hex.EncodeToString(sum[:]) != digest {
		return nil, fmt.Errorf("blob %s: content does not match its digest", digest)
	}
	return b, nil
}
