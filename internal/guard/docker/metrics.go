package docker

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the guard's Prometheus metrics, on their own registry.
type Metrics struct {
	reg       *prometheus.Registry
	requests  *prometheus.CounterVec
	denials   *prometheus.CounterVec
	decision  prometheus.Histogram
	duration  *prometheus.HistogramVec
	inflight  prometheus.Gauge
	hijacked  prometheus.Gauge
	auditErrs prometheus.Counter
}

// NewMetrics registers the guard's metrics.
func NewMetrics() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "picket", Subsystem: "guard_docker", Name: "requests_total",
		Help: "Engine API requests by operation and decision (allow, deny, error).",
	}, []string{"endpoint", "decision"})
	m.denials = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "picket", Subsystem: "guard_docker", Name: "denials_total",
		Help: "Refused requests by deciding rule (policy rule id, acl, auth, bad-request, body).",
	}, []string{"rule"})
	m.decision = prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: "picket", Subsystem: "guard_docker", Name: "decision_seconds",
		Help:    "Time to decide a request (parse, ACL, body, policy): the latency the guard adds.",
		Buckets: []float64{1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 5e-2},
	})
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "picket", Subsystem: "guard_docker", Name: "request_duration_seconds",
		Help:    "Time from request to the end of the response, by operation.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 4, 10),
	}, []string{"endpoint"})
	m.inflight = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: "picket", Subsystem: "guard_docker", Name: "in_flight_requests", Help: "Requests being served.",
	})
	m.hijacked = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: "picket", Subsystem: "guard_docker", Name: "hijacked_streams", Help: "Open attach/exec/session streams.",
	})
	m.auditErrs = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "picket", Subsystem: "guard_docker", Name: "audit_errors_total", Help: "Audit records that could not be written.",
	})
	m.reg.MustRegister(m.requests, m.denials, m.decision, m.duration, m.inflight, m.hijacked, m.auditErrs,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves /metrics.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}
