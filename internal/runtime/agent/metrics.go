package agent

import (
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/picket-cdr/picket/internal/policy"
	"github.com/picket-cdr/picket/internal/runtime/event"
)

type policyEvalError = policy.EvalError

func unwrapAll(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

type metrics struct {
	events       *prometheus.CounterVec
	perSecond    *prometheus.GaugeVec
	ruleHits     *prometheus.CounterVec
	ruleErrors   *prometheus.CounterVec
	suppressed   *prometheus.CounterVec
	attrMisses   prometheus.Counter
	outputErrors *prometheus.CounterVec
	latency      prometheus.Histogram

	mu     sync.Mutex
	counts map[string]uint64 // kind -> events, for rates and Stats
}

func newMetrics(reg *prometheus.Registry, a *Agent) (*metrics, error) {
	m := &metrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "picket_agent_events_total",
			Help: "Events received from the sensors, by kind and sensor."}, []string{"kind", "sensor"}),
		perSecond: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "picket_agent_events_per_second",
			Help: "Events received in the last second, by kind."}, []string{"kind"}),
		ruleHits: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "picket_agent_rule_hits_total",
			Help: "Alerts raised, by rule and priority."}, []string{"rule", "priority"}),
		ruleErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "picket_agent_rule_errors_total",
			Help: "Rule evaluations that failed (e.g. a missing map key), by rule."}, []string{"rule"}),
		suppressed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "picket_agent_alerts_suppressed_total",
			Help: "Alerts over the per-rule, per-container rate bound, by rule."}, []string{"rule"}),
		attrMisses: prometheus.NewCounter(prometheus.CounterOpts{Name: "picket_agent_attribution_misses_total",
			Help: "Events that could not be attributed to a container or the host in time."}),
		outputErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "picket_agent_output_errors_total",
			Help: "Alerts an output failed to deliver, by output."}, []string{"output"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "picket_agent_detection_latency_seconds",
			Help:    "Time from the kernel seeing an event to its alert.",
			Buckets: []float64{.0005, .001, .002, .005, .01, .02, .05, .1, .25, .5, 1, 2.5}}),
		counts: map[string]uint64{},
	}
	cs := []prometheus.Collector{m.events, m.perSecond, m.ruleHits, m.ruleErrors, m.suppressed, m.attrMisses, m.outputErrors, m.latency,
		&sourceCollector{a: a}}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *metrics) countEvent(ev *event.Event) {
	m.events.WithLabelValues(string(ev.Kind), ev.Sensor).Inc()
	m.mu.Lock()
	m.counts[string(ev.Kind)]++
	m.mu.Unlock()
}

func (m *metrics) eventCounts() map[string]uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]uint64, len(m.counts))
	for k, v := range m.counts {
		out[k] = v
	}
	return out
}

// rates sets the per-second gauges every second until stop closes.
func (m *metrics) rates(stop <-chan struct{}) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	prev := map[string]uint64{}
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		cur := m.eventCounts()
		for k, v := range cur {
			m.perSecond.WithLabelValues(k).Set(float64(v - prev[k]))
		}
		prev = cur
	}
}

// sourceCollector exports the sensors' own counters at scrape time.
type sourceCollector struct{ a *Agent }

var (
	descSensorEvents = prometheus.NewDesc("picket_agent_sensor_events_total",
		"Events produced by a sensor, by kind.", []string{"sensor", "kind"}, nil)
	descDrops = prometheus.NewDesc("picket_agent_drops_total",
		"Events lost by a sensor: in the kernel (ring buffer full, per CPU) or in user space.", []string{"sensor", "where", "cpu"}, nil)
	descSkipped = prometheus.NewDesc("picket_agent_skipped_total",
		"Events a sensor's rate budget chose not to forward.", []string{"sensor"}, nil)
	descContainers = prometheus.NewDesc("picket_agent_attribution_cache_containers",
		"Containers in the attribution cache (running and recently gone).", nil, nil)
	descLookups = prometheus.NewDesc("picket_agent_attribution_lookups_total",
		"Docker API container lookups.", nil, nil)
	descReconnects = prometheus.NewDesc("picket_agent_docker_reconnects_total",
		"Times the Docker events stream was re-opened.", nil, nil)
)

func (c *sourceCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descSensorEvents, descDrops, descSkipped, descContainers, descLookups, descReconnects} {
		ch <- d
	}
}

func (c *sourceCollector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.a.cfg.Sources {
		st := s.Stats()
		for k, v := range st.Events {
			ch <- prometheus.MustNewConstMetric(descSensorEvents, prometheus.CounterValue, float64(v), s.Name(), string(k))
		}
		for cpu, v := range st.Drops {
			ch <- prometheus.MustNewConstMetric(descDrops, prometheus.CounterValue, float64(v), s.Name(), "kernel", itoa(cpu))
		}
		ch <- prometheus.MustNewConstMetric(descDrops, prometheus.CounterValue, float64(st.Lost), s.Name(), "user", "")
		ch <- prometheus.MustNewConstMetric(descSkipped, prometheus.CounterValue, float64(st.Skipped), s.Name())
	}
	if r := c.a.cfg.Resolver; r != nil {
		st := r.Stats()
		ch <- prometheus.MustNewConstMetric(descContainers, prometheus.GaugeValue, float64(st.Containers))
		ch <- prometheus.MustNewConstMetric(descLookups, prometheus.CounterValue, float64(st.Lookups))
		ch <- prometheus.MustNewConstMetric(descReconnects, prometheus.CounterValue, float64(st.Reconnects))
	}
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

// Handler serves /metrics (Prometheus text format) and /healthz.
func (a *Agent) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(a.cfg.Registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte("ok\n"))
	})
	return mux
}
