package metrics

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"
)

// DefaultAddr is where /metrics, /healthz and /readyz listen by default
// (9464 is the port OpenTelemetry's Prometheus exporter made common).
const DefaultAddr = ":9464"

// Health answers /healthz (the process's loops are turning) and /readyz
// (its dependencies answer). A nil *Health is valid: Beat does nothing.
type Health struct {
	now func() time.Time

	mu     sync.Mutex
	loops  map[string]*loop
	checks []check
	// readiness is checked at most once per cacheFor, so a load balancer
	// polling every second does not hammer OpenSearch or DynamoDB.
	cacheFor  time.Duration
	lastReady time.Time
	lastErr   error
}

type loop struct {
	last    time.Time
	maxIdle time.Duration
}

type check struct {
	name string
	fn   func(ctx context.Context) error
}

// NewHealth returns an empty health state.
func NewHealth() *Health {
	return &Health{now: time.Now, loops: map[string]*loop{}, cacheFor: 2 * time.Second}
}

// Loop registers a loop that must Beat at least every maxIdle for the
// process to be healthy. It counts as having beaten now.
func (h *Health) Loop(name string, maxIdle time.Duration) {
	if h == nil {
		return
	}
	h.mu.Lock()
	h.loops[name] = &loop{last: h.now(), maxIdle: maxIdle}
	h.mu.Unlock()
}

// Beat says the named loop made progress. Unregistered names are ignored.
func (h *Health) Beat(name string) {
	if h == nil {
		return
	}
	now := h.now()
	h.mu.Lock()
	if l := h.loops[name]; l != nil {
		l.last = now
	}
	h.mu.Unlock()
}

// Check registers a readiness check (it gets a context with a deadline).
func (h *Health) Check(name string, fn func(ctx context.Context) error) {
	if h == nil {
		return
	}
	h.mu.Lock()
	h.checks = append(h.checks, check{name, fn})
	h.mu.Unlock()
}

// Live returns nil when every loop beat recently enough.
func (h *Health) Live() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.now()
	names := make([]string, 0, len(h.loops))
	for n := range h.loops {
		names = append(names, n)
	}
	sort.Strings(names)
	var errs []error
	for _, n := range names {
		l := h.loops[n]
		if idle := now.Sub(l.last); idle > l.maxIdle {
			errs = append(errs, fmt.Errorf("%s loop has not turned for %s (limit %s)", n, idle.Round(time.Second), l.maxIdle))
		}
	}
	return errors.Join(errs...)
}

// Ready runs the readiness checks (or returns the last result when it is
// fresh) and returns nil when all pass.
func (h *Health) Ready(ctx context.Context) error {
	h.mu.Lock()
	if !h.lastReady.IsZero() && h.now().Sub(h.lastReady) < h.cacheFor {
		err := h.lastErr
		h.mu.Unlock()
		return err
	}
	checks := append([]check(nil), h.checks...)
	h.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	errs := make([]error, len(checks))
	var wg sync.WaitGroup
	for i, c := range checks {
		wg.Go(func() {
			if err := c.fn(ctx); err != nil {
				errs[i] = fmt.Errorf("%s: %w", c.name, err)
			}
		})
	}
	wg.Wait()
	err := errors.Join(errs...)
	h.mu.Lock()
	h.lastReady, h.lastErr = h.now(), err
	h.mu.Unlock()
	return err
}

type healthBody struct {
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
}

func writeHealth(w http.ResponseWriter, err error) {
	w.Header().Set("Content-Type", "application/json")
	b := healthBody{Status: "ok"}
	if err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		b = healthBody{Status: "fail", Reason: err.Error()}
	}
	_ = json.NewEncoder(w).Encode(b)
}

// Handler serves /metrics from m's registry and /healthz, /readyz from h.
func Handler(m *Metrics, h *Health) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.Reg, promhttp.HandlerOpts{Registry: m.Reg}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { writeHealth(w, h.Live()) })
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) { writeHealth(w, h.Ready(r.Context())) })
	return mux
}

// Serve listens on addr and serves Handler until ctx ends. An empty addr
// turns the endpoint off. An address that cannot be bound (in use: several
// processes on one host) is logged as a warning and the process runs on
// without the endpoint: metrics must never stop a loader. It returns the
// bound address ("" when off or not bound).
func Serve(ctx context.Context, addr string, m *Metrics, h *Health, log zerolog.Logger) string {
	if addr == "" || m == nil {
		return ""
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		log.Warn().Err(err).Str("metrics_addr", addr).Str("error_kind", "metrics_listen").
			Msg("metrics endpoint not started; the process runs on without /metrics, /healthz and /readyz")
		return ""
	}
	srv := &http.Server{Handler: Handler(m, h), ReadHeaderTimeout: 10 * time.Second}
	bound := ln.Addr().String()
	log.Info().Str("metrics_addr", bound).Msg("metrics endpoint listening (/metrics, /healthz, /readyz)")
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn().Err(err).Str("error_kind", "metrics_serve").Msg("metrics endpoint stopped")
		}
	}()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	return bound
}
