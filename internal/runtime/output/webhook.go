package output

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// WebhookOptions configure a webhook.
type WebhookOptions struct {
	Headers map[string]string
	Timeout time.Duration // per attempt (default 5s)
	Retries int           // attempts after the first (default 3)
	Backoff time.Duration // first retry delay, doubled each time (default 250ms)
	Queue   int           // alerts waiting for delivery (default 1024); beyond, dropped and counted
	Client  *http.Client
}

// Webhook POSTs each alert as a JSON object. Delivery is asynchronous: Write
// queues, a worker sends with retries (5xx, 429 and network errors are
// retried; other 4xx are not). A full queue drops the alert (counted).
type Webhook struct {
	url  string
	o    WebhookOptions
	q    chan *Alert
	done chan struct{}
	once sync.Once
	stop chan struct{}

	written, errors, dropped atomic.Uint64
}

// NewWebhook validates the URL and starts the delivery worker.
func NewWebhook(rawURL string, o WebhookOptions) (*Webhook, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("output: webhook: %q is not an http(s) URL", rawURL)
	}
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Second
	}
	if o.Retries < 0 {
		o.Retries = 0
	} else if o.Retries == 0 {
		o.Retries = 3
	}
	if o.Backoff <= 0 {
		o.Backoff = 250 * time.Millisecond
	}
	if o.Queue <= 0 {
		o.Queue = 1024
	}
	if o.Client == nil {
		o.Client = &http.Client{}
	}
	w := &Webhook{url: rawURL, o: o, q: make(chan *Alert, o.Queue), done: make(chan struct{}), stop: make(chan struct{})}
	go w.run()
	return w, nil
}

func (w *Webhook) Name() string { return "webhook:" + w.url }

func (w *Webhook) Write(_ context.Context, a *Alert) error {
	select {
	case w.q <- a:
		return nil
	default:
		w.dropped.Add(1)
		return fmt.Errorf("output: webhook: queue full, alert %s dropped", a.RuleID)
	}
}

func (w *Webhook) run() {
	defer close(w.done)
	for a := range w.q {
		if err := w.deliver(a); err != nil {
			w.errors.Add(1)
			w.dropped.Add(1)
			continue
		}
		w.written.Add(1)
	}
}

func (w *Webhook) deliver(a *Alert) error {
	body, err := json.Marshal(a)
	if err != nil {
		return err
	}
	delay := w.o.Backoff
	var last error
	for attempt := 0; attempt <= w.o.Retries; attempt++ {
		if attempt > 0 {
			select {
			case <-time.After(delay):
			case <-w.stop:
				return fmt.Errorf("output: webhook: closing: %w", last)
			}
			delay *= 2
		}
		retry, err := w.post(body)
		if err == nil {
			return nil
		}
		last = err
		if !retry {
			break
		}
	}
	return last
}

func (w *Webhook) post(body []byte) (retry bool, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), w.o.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "picket-agent")
	for k, v := range w.o.Headers {
		req.Header.Set(k, v)
	}
	resp, err := w.o.Client.Do(req)
	if err != nil {
		return true, fmt.Errorf("output: webhook: %w", err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	switch {
	case resp.StatusCode < 300:
		return false, nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return true, fmt.Errorf("output: webhook: %s", resp.Status)
	}
	return false, fmt.Errorf("output: webhook: %s (not retried)", resp.Status)
}

func (w *Webhook) Stats() Stats {
	return Stats{Written: w.written.Load(), Errors: w.errors.Load(), Dropped: w.dropped.Load()}
}

// Close delivers what is queued (waiting at most 10s, then abandoning
// retries) and stops the worker.
func (w *Webhook) Close() error {
	w.once.Do(func() { close(w.q) })
	select {
	case <-w.done:
	case <-time.After(10 * time.Second):
		close(w.stop)
		<-w.done
	}
	return nil
}
