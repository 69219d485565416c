// Package docker is `picket guard docker`: a policy proxy in front of the
// Docker Engine API and, with the same engine, a Docker AuthZ plugin.
//
// Every request is authenticated (unix peer credentials, TLS client
// certificate CN or bearer token), normalised (the /v1.xx prefix stripped
// for matching, dot segments, encoded slashes and ambiguous duplicate
// query keys refused), checked against the endpoint ACL of the access
// file, and — for operations that create or change what runs (container
// create and update, exec create and start, image pull, build, services,
// plugins, volumes) — against a CEL policy (internal/policy) over the
// parsed request body: the default policy embedded in the binary
// (default-policy.yaml) plus user files. Guarded bodies are read with a
// size limit and a deadline and parsed with the same decoder semantics as
// dockerd; anything the guard cannot read is refused (fail closed).
// Allowed requests are forwarded from the same parsed fields, streaming:
// chunked responses are flushed as they come, uploads are never buffered
// whole, and upgraded connections (attach, exec, BuildKit session) are
// spliced with half-close. Each request leaves one hash-chained audit
// record (internal/audit) and Prometheus metrics.
package docker
