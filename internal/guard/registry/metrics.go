package registry

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the guard's Prometheus metrics (namespace picket_registry_guard).
type metrics struct {
	reg          *prometheus.Registry
	requests     *prometheus.CounterVec
	duration     *prometheus.HistogramVec
	bytes        *prometheus.CounterVec
	denials      *prometheus.CounterVec
	tokens       *prometheus.CounterVec
	scans        *prometheus.CounterVec
	scanSeconds  prometheus.Histogram
	scanQueue    prometheus.Gauge
	scansDropped prometheus.Counter
	webhooks     *prometheus.CounterVec
	auditErrors  prometheus.Counter
	storageBlobs prometheus.Counter
}

func newMetrics() *metrics {
	const ns = "picket_registry_guard"
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "requests_total",
			Help: "Requests by endpoint kind, method and status code."}, []string{"kind", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Name: "request_duration_seconds",
			Help: "Request latency by endpoint kind.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16)}, []string{"kind"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "response_bytes_total",
			Help: "Bytes sent to clients by endpoint kind."}, []string{"kind"}),
		denials: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "denials_total",
			Help: "Refused requests by reason class."}, []string{"reason"}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "tokens_total",
			Help: "Token requests by result."}, []string{"result"}),
		scans: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "scans_total",
			Help: "Scans by result."}, []string{"result"}),
		scanSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Name: "scan_duration_seconds",
			Help: "Scan duration.", Buckets: prometheus.ExponentialBuckets(0.1, 2, 14)}),
		scanQueue: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Name: "scan_queue_length",
			Help: "Images waiting to be scanned."}),
		scansDropped: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "scans_dropped_total",
			Help: "Scans not queued because the queue was full (the images stay unscanned)."}),
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "webhooks_total",
			Help: "Webhook deliveries by result."}, []string{"result"}),
		auditErrors: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "audit_errors_total",
			Help: "Audit records that could not be written (the request was refused)."}),
		storageBlobs: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "blobs_from_storage_total",
			Help: "Blob downloads (GET and HEAD) answered from the upstream's storage (--blob-storage)."}),
	}
	m.reg.MustRegister(m.requests, m.duration, m.bytes, m.denials, m.tokens, m.scans, m.scanSeconds,
		m.scanQueue, m.scansDropped, m.webhooks, m.auditErrors, m.storageBlobs,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}
