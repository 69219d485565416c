package registry

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"
)

// CloudEvent is a CloudEvents 1.0 event in structured JSON mode.
type CloudEvent struct {
	SpecVersion     string    `json:"specversion"`
	ID              string    `json:"id"`
	Source          string    `json:"source"`
	Type            string    `json:"type"`
	Subject         string    `json:"subject,omitempty"`
	Time            time.Time `json:"time"`
	DataContentType string    `json:"datacontenttype"`
	Data            any       `json:"data"`
}

// EventData is the data of the guard's events.
type EventData struct {
	Identity   string `json:"identity"`
	ClientIP   string `json:"clientIP"`
	Repository string `json:"repository"`
	Reference  string `json:"reference,omitempty"`
	Digest     string `json:"digest,omitempty"`
	Reason     string `json:"reason,omitempty"`
}

// EventTypePrefix prefixes CloudEvents types: "dev.picket.registry.push".
const EventTypePrefix = "dev.picket.registry."

// notifier delivers events to webhooks from a bounded queue (a slow
// receiver never slows the registry; overflow is counted and logged).
type notifier struct {
	hooks  []Webhook
	source string
	client *http.Client
	queue  chan CloudEvent
	log    *slog.Logger
	m      *metrics
	wg     sync.WaitGroup
}

func newNotifier(hooks []Webhook, source string, log *slog.Logger, m *metrics) *notifier {
	n := &notifier{hooks: hooks, source: source, client: &http.Client{Timeout: 10 * time.Second},
		queue: make(chan CloudEvent, 1024), log: log, m: m}
	if len(hooks) > 0 {
		n.wg.Add(1)
		go n.run()
	}
	return n
}

func (n *notifier) send(event string, d EventData) {
	if len(n.hooks) == 0 {
		return
	}
	var id [12]byte
	_, _ = rand.Read(id[:])
	ev := CloudEvent{SpecVersion: "1.0", ID: hex.EncodeToString(id[:]), Source: n.source,
		Type: EventTypePrefix + event, Subject: d.Repository, Time: time.Now().UTC(),
		DataContentType: "application/json", Data: d}
	select {
	case n.queue <- ev:
	default:
		n.m.webhooks.WithLabelValues("dropped").Inc()
		n.log.Warn("webhook queue full; event dropped", "type", ev.Type, "repository", d.Repository)
	}
}

func (n *notifier) close() {
	if len(n.hooks) > 0 {
		close(n.queue)
		n.wg.Wait()
	}
}

func (n *notifier) run() {
	defer n.wg.Done()
	for ev := range n.queue {
		body, err := json.Marshal(ev)
		if err != nil {
			continue
		}
		short := ev.Type[len(EventTypePrefix):]
		for _, h := range n.hooks {
			if len(h.Events) > 0 && !slices.Contains(h.Events, short) {
				continue
			}
			err := n.deliver(h, body)
			result := "ok"
			if err != nil {
				result = "error"
				n.log.Warn("webhook delivery failed", "url", h.URL, "type", ev.Type, "err", err)
			}
			n.m.webhooks.WithLabelValues(result).Inc()
		}
	}
}

// deliver POSTs with three attempts and backoff.
func (n *notifier) deliver(h Webhook, body []byte) error {
	var last error
	for attempt := range 3 {
		if attempt > 0 {
			time.Sleep(time.Duration(attempt) * 500 * time.Millisecond)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL, bytes.NewReader(body))
		if err != nil {
			cancel()
			return err
		}
		req.Header.Set("Content-Type", "application/cloudevents+json; charset=utf-8")
		if h.Secret != "" {
			mac := hmac.New(sha256.New, []byte(h.Secret))
			mac.Write(body)
			req.Header.Set("X-Picket-Signature", "sha256="+hex.EncodeToString(mac.Sum(nil)))
		}
		resp, err := n.client.Do(req)
		cancel()
		if err != nil {
			last = err
			continue
		}
		resp.Body.Close()
		if resp.StatusCode/100 == 2 {
			return nil
		}
		last = fmt.Errorf("receiver answered %s", resp.Status)
	}
	return last
}
