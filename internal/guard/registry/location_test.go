package registry

import (
	"context"
	"net/http/httptest"
	"net/url"
	"testing"
)

func TestRewriteLocation(t *testing.T) {
	up, _ := url.Parse("http://10.0.0.1:5000")
	g := &Guard{upstream: up}
	req := httptest.NewRequest("GET", "http://10.0.0.1:5000/v2/a/blobs/uploads/", nil)
	req = req.WithContext(context.WithValue(req.Context(), ctxKey{}, &reqState{base: "https://registry.example.com"}))
	for in, want := range map[string]string{
		"http://10.0.0.1:5000/v2/a/blobs/uploads/u1?_state=x": "https://registry.example.com/v2/a/blobs/uploads/u1?_state=x",
		"/v2/a/blobs/uploads/u2?_state=y":                     "https://registry.example.com/v2/a/blobs/uploads/u2?_state=y",
		"https://bucket.s3.amazonaws.com/blob?X-Amz-Sig=1":    "https://bucket.s3.amazonaws.com/blob?X-Amz-Sig=1",
	} {
		if got := g.rewriteLocation(in, req); got != want {
			t.Errorf("rewriteLocation(%q) = %q, want %q", in, got, want)
		}
	}
}
