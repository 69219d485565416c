package registry

import (
	"encoding/json"
	"net/http"
)

// OCI distribution error codes the guard answers with.
const (
	CodeUnauthorized    = "UNAUTHORIZED"
	CodeDenied          = "DENIED"
	CodeNameInvalid     = "NAME_INVALID"
	CodeManifestInvalid = "MANIFEST_INVALID"
	CodeSizeInvalid     = "SIZE_INVALID"
	CodeUnsupported     = "UNSUPPORTED"
	CodeTooMany         = "TOOMANYREQUESTS"
	CodeUnknown         = "UNKNOWN"
)

type ociError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Detail  any    `json:"detail,omitempty"`
}

// writeError writes an OCI error body, which docker, crane and skopeo show
// to their users ("denied: <message>").
func writeError(w http.ResponseWriter, status int, code, msg string, detail any) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Docker-Distribution-API-Version", "registry/2.0")
	h.Del("Content-Length")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(struct {
		Errors []ociError `json:"errors"`
	}{[]ociError{{Code: code, Message: msg, Detail: detail}}})
}
