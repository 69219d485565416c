package registry

import (
	"github.com/picket-cdr/picket/internal/audit"
)

// AuditSink receives one audit record per request (and per scan).
// *audit.Writer (hash-chained, fsynced JSON lines, optional syslog) is the
// one the command uses. Writes must be durable when they return; an error
// makes the guard refuse requests until a write succeeds again (fail
// closed).
type AuditSink interface {
	Write(r audit.Record) (audit.Entry, error)
}

// auditRecord is what the guard knows about one audited event; it becomes
// an audit.Record with the registry's fields in Extra.
type auditRecord struct {
	rec        audit.Record
	repository string
	reference  string
	digest     string
	authMethod string
	tokenID    string
	userAgent  string
}

func (a auditRecord) record() audit.Record {
	r := a.rec
	r.Resource = "repository"
	extra := map[string]any{}
	add := func(k, v string) {
		if v != "" {
			extra[k] = v
		}
	}
	add("repository", a.repository)
	add("reference", a.reference)
	add("digest", a.digest)
	add("auth_method", a.authMethod)
	add("token_id", a.tokenID)
	add("user_agent", a.userAgent)
	if len(extra) > 0 {
		r.Extra = extra
	}
	return r
}

// auditEvent writes a record that is not tied to a request (scans).
func (g *Guard) auditEvent(a auditRecord) {
	if _, err := g.audit.Write(a.record()); err != nil {
		g.metrics.auditErrors.Inc()
		g.auditBroken.Store(true)
		g.log.Error("audit write failed; refusing requests until it works again", "err", err)
	}
}
