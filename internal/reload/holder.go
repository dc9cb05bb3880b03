package reload

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultInterval is how often Run polls the source when no interval is set.
const DefaultInterval = 5 * time.Minute

// ErrEmpty is returned by a Source's Load (or Version) when there is nothing
// to load, e.g. the directory holds no database. A holder that already has a
// value keeps it; one that has none stays empty (the stage is pass-through).
var ErrEmpty = errors.New("nothing to load")

// emptyVersion marks "the source said ErrEmpty" so the warning is logged once.
const emptyVersion = "\x00empty"

// Source produces candidates for a Holder.
type Source[T any] interface {
	// Version returns a fingerprint of the data as it is now. Two equal
	// fingerprints mean "nothing changed". It must be cheap (stat/list/head).
	Version(ctx context.Context) (string, error)
	// Load reads, parses and validates a candidate. An error refuses it.
	Load(ctx context.Context) (*T, error)
}

// Funcs adapts two functions to a Source.
type Funcs[T any] struct {
	VersionFunc func(ctx context.Context) (string, error)
	LoadFunc    func(ctx context.Context) (*T, error)
}

// Version calls VersionFunc.
func (f Funcs[T]) Version(ctx context.Context) (string, error) { return f.VersionFunc(ctx) }

// Load calls LoadFunc.
func (f Funcs[T]) Load(ctx context.Context) (*T, error) { return f.LoadFunc(ctx) }

// Status describes a holder for health pages and tests.
type Status struct {
	Name string
	// Version is the fingerprint of the value in use ("" when empty).
	Version string
	// LoadedAt is when the value in use was swapped in.
	LoadedAt time.Time
	// Loads counts successful swaps, Failures refused candidates and failed
	// version checks.
	Loads, Failures uint64
	// LastErr is the last refusal or check error (nil after a good load).
	LastErr error
}

// Holder holds the current *T of one source. Load is lock-free; Check and Run
// serialise among themselves.
type Holder[T any] struct {
	name     string
	src      Source[T]
	interval time.Duration
	log      *slog.Logger

	cur atomic.Pointer[T]

	mu        sync.Mutex // serialises Check; guards the fields below
	version   string     // version of cur
	failedVer string     // version last refused (not retried until it changes)
	loadedAt  time.Time
	loads     uint64
	failures  uint64
	lastErr   error
}

// New makes a holder. interval <= 0 means DefaultInterval; a nil logger means
// slog.Default(). It does no I/O and starts no goroutine.
func New[T any](name string, src Source[T], interval time.Duration, log *slog.Logger) *Holder[T] {
	if interval <= 0 {
		interval = DefaultInterval
	}
	if log == nil {
		log = slog.Default()
	}
	return &Holder[T]{name: name, src: src, interval: interval, log: log.With("reload", name)}
}

// Load returns the value in use, or nil before the first successful load. It
// never blocks.
func (h *Holder[T]) Load() *T { return h.cur.Load() }

// Set swaps in v directly (tests, or a value built by the caller).
func (h *Holder[T]) Set(v *T, version string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.swap(v, version)
}

func (h *Holder[T]) swap(v *T, version string) {
	h.cur.Store(v)
	h.version = version
	h.failedVer = ""
	h.loadedAt = time.Now()
	h.loads++
	h.lastErr = nil
}

// Check polls the source once: when the version differs from the one in use
// (and from the last refused one) it loads a candidate and swaps it in. It
// returns whether a new value was swapped in, and the error that refused a
// candidate or failed the version check (the previous value stays in use).
// A source with nothing to load (ErrEmpty) is not an error.
func (h *Holder[T]) Check(ctx context.Context) (bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	ver, err := h.src.Version(ctx)
	if errors.Is(err, ErrEmpty) {
		if h.failedVer != emptyVersion {
			h.log.Warn("source is empty; keeping the value in use", "in_use", h.version)
		}
		h.failedVer = emptyVersion
		return false, nil
	}
	if err != nil {
		h.failures++
		h.lastErr = fmt.Errorf("reload %s: version: %w", h.name, err)
		h.log.Error("version check failed; keeping the value in use", "err", err)
		return false, h.lastErr
	}
	if ver == h.version && h.cur.Load() != nil {
		return false, nil
	}
	if ver == h.failedVer {
		return false, nil
	}
	start := time.Now()
	v, err := h.src.Load(ctx)
	if err == nil && v == nil {
		err = ErrEmpty
	}
	if errors.Is(err, ErrEmpty) {
		h.failedVer = ver
		h.log.Warn("source has nothing to load; keeping the value in use", "version", ver)
		return false, nil
	}
	if err != nil {
		h.failedVer = ver
		h.failures++
		h.lastErr = fmt.Errorf("reload %s: candidate %s refused: %w", h.name, ver, err)
		h.log.Error("candidate refused; keeping the value in use", "version", ver, "in_use", h.version, "err", err)
		return false, h.lastErr
	}
	h.swap(v, ver)
	h.log.Info("loaded", "version", ver, "took", time.Since(start).Round(time.Millisecond))
	return true, nil
}

// Run checks the source at once and then every interval until ctx is done.
// Check errors are logged and do not stop it. It returns nil when ctx is
// cancelled.
func (h *Holder[T]) Run(ctx context.Context) error {
	t := time.NewTicker(h.interval)
	defer t.Stop()
	for {
		_, _ = h.Check(ctx) // errors are logged by Check
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Status reports the holder's state.
func (h *Holder[T]) Status() Status {
	h.mu.Lock()
	defer h.mu.Unlock()
	return Status{Name: h.name, Version: h.version, LoadedAt: h.loadedAt,
		Loads: h.loads, Failures: h.failures, LastErr: h.lastErr}
}
