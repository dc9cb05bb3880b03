// Package pipeline assembles the stage chain the consumer and the normalize
// dry run share: decode → exclude → normalize → geoip → ioc →
// useragent → exclude_conditions → encode. Optional stages are left out of the chain
// when not configured, so an unused feature costs nothing per event. It
// also drives the lifecycle of the stages that load data (GeoIP, IoC,
// exclusion files, SSM conditions): stages.Reloader is loaded once before the
// first batch, then followed by Run until Close. The stage contract itself is
// in package stages (stages/stage.go).
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/siemstream/siemstream/internal/reload"
	"github.com/siemstream/siemstream/schemas"
	"github.com/siemstream/siemstream/stages"
	"github.com/siemstream/siemstream/stages/decode"
	"github.com/siemstream/siemstream/stages/encode"
	"github.com/siemstream/siemstream/stages/exclude"
	"github.com/siemstream/siemstream/stages/geoip"
	"github.com/siemstream/siemstream/stages/ioc"
	"github.com/siemstream/siemstream/stages/normalize"
	"github.com/siemstream/siemstream/stages/useragent"
)

// Options says which optional stages run and where their data comes from.
// The zero value runs decode → normalize → encode only.
type Options struct {
	// GeoIP is a directory or s3://bucket/prefix holding
	// GeoLite2/GeoLite2-City.mmdb and GeoLite2-ASN.mmdb ("" = no GeoIP).
	GeoIP string
	// IOC is a directory or s3://bucket/prefix with IOC/TXT/<provider>/ and
	// IOC/STIX2/<provider>/ feeds ("" = no threat intel).
	IOC string
	// ExcludeCSV is exclude_log_patterns.csv as a path or s3://bucket/key.
	ExcludeCSV string
	// OwnLogExclusion drops the loader's own CloudTrail/S3 access records
	// (es-loader's ignore_own_logs).
	OwnLogExclusion bool
	// Conditions loads SSM-style exclusion conditions (nil = none).
	Conditions exclude.ParamLoader
	// S3 opens s3:// sources (nil: only local paths work).
	S3 reload.S3Opener
	// ReloadInterval is how often data sources are checked for a newer
	// version (0 = each stage's default).
	ReloadInterval time.Duration
	// Now is the clock for event.ingested (nil = time.Now).
	Now func() time.Time
	Log zerolog.Logger
}

// Pipeline holds the configured stages.
type Pipeline struct {
	chain     stages.Chain
	reloaders []stages.Reloader
	log       zerolog.Logger
	mu        sync.Mutex
	cancel    context.CancelFunc
}

// New builds the stages and loads their data once, so a bad configuration
// fails at start rather than at the first record.
func New(reg *schemas.Registry, o Options) (*Pipeline, error) {
	return NewContext(context.Background(), reg, o)
}

// NewContext is New with a context for the initial loads.
func NewContext(ctx context.Context, reg *schemas.Registry, o Options) (*Pipeline, error) {
	deps := stages.Deps{Logger: slog.New(zerologHandler{l: o.Log}), S3: o.S3}
	now := o.Now
	if now == nil {
		now = time.Now
	}
	p := &Pipeline{log: o.Log}
	// Output plans write a type's documents without the tree, so only for
	// types whose documents no stage after normalize reads (the plans
	// write the user-agent stage's fields themselves).
	plan := func(name string) bool {
		lt := reg.Lookup(name)
		return lt != nil && o.Conditions == nil &&
			(o.GeoIP == "" || len(lt.Geoip) == 0) && (o.IOC == "" || len(lt.IOCIP)+len(lt.IOCDomain) == 0)
	}
	ncfg := normalize.Config{Now: now, Plan: plan}
	ua := useragent.New(reg)
	if ua != nil {
		ncfg.UserAgent = func(b []byte) *normalize.UserAgent { return (*normalize.UserAgent)(ua.Lookup(b)) }
	}
	norm, err := normalize.New(reg, ncfg)
	if err != nil {
		return nil, fmt.Errorf("normalize stage: %w", err)
	}
	p.chain = append(p.chain, decode.New(reg))
	types := reg.Types()
	if o.ExcludeCSV != "" || o.OwnLogExclusion {
		cfg := exclude.DefaultConfig()
		cfg.CSV, cfg.OwnLogs = o.ExcludeCSV, o.OwnLogExclusion
		cfg.ReloadInterval = o.ReloadInterval
		for _, lt := range types {
			cfg.KnownLogTypes = append(cfg.KnownLogTypes, lt.Name)
		}
		st, err := exclude.New(cfg, deps)
		if err != nil {
			return nil, err
		}
		if o.ExcludeCSV != "" {
			p.add(st)
		} else {
			p.chain = append(p.chain, st) // own-log patterns only: nothing to reload
		}
	}
	p.chain = append(p.chain, norm)
	if o.GeoIP != "" {
		cfg := geoip.DefaultConfig()
		cfg.Source, cfg.ReloadInterval = o.GeoIP, o.ReloadInterval
		cfg.Entities = map[string][]string{}
		for _, lt := range types {
			if len(lt.Geoip) > 0 {
				cfg.Entities[lt.Name] = lt.Geoip
			}
		}
		st, err := geoip.New(cfg, deps)
		if err != nil {
			return nil, err
		}
		p.add(st)
	}
	if o.IOC != "" {
		cfg := ioc.DefaultConfig()
		cfg.Source, cfg.ReloadInterval = o.IOC, o.ReloadInterval
		cfg.LogTypes = map[string]ioc.Fields{}
		for _, lt := range types {
			if len(lt.IOCIP) > 0 || len(lt.IOCDomain) > 0 {
				cfg.LogTypes[lt.Name] = ioc.Fields{IP: lt.IOCIP, Domain: lt.IOCDomain}
			}
		}
		st, err := ioc.New(cfg, deps)
		if err != nil {
			return nil, err
		}
		p.add(st)
	}
	if ua != nil {
		p.chain = append(p.chain, ua)
	}
	if o.Conditions != nil {
		cfg := exclude.ConditionsConfig{ReloadInterval: o.ReloadInterval}
		st, err := exclude.NewConditions(cfg, exclude.ConditionsDeps{Deps: deps, Params: o.Conditions})
		if err != nil {
			return nil, err
		}
		p.add(st)
	}
	p.chain = append(p.chain, encode.New())
	for _, r := range p.reloaders {
		if _, err := r.Check(ctx); err != nil {
			return nil, fmt.Errorf("%s: initial load: %w", r.Name(), err)
		}
	}
	return p, nil
}

func (p *Pipeline) add(r stages.Reloader) {
	p.chain = append(p.chain, r)
	p.reloaders = append(p.reloaders, r)
}

// Chain returns the chain. Its stages are safe for concurrent use, so every
// shard processor shares them.
func (p *Pipeline) Chain() (stages.Chain, error) { return p.chain, nil }

// Run keeps reloadable data fresh until ctx ends (or Close).
func (p *Pipeline) Run(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	p.mu.Lock()
	p.cancel = cancel
	p.mu.Unlock()
	var wg sync.WaitGroup
	for _, r := range p.reloaders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := r.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
				p.log.Error().Err(err).Str("stage", r.Name()).Msg("reload loop stopped")
			}
		}()
	}
	wg.Wait()
}

// Close stops the reload loops started by Run.
func (p *Pipeline) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cancel != nil {
		p.cancel()
	}
}

// zerologHandler lets stages that log through log/slog write to the
// process's zerolog logger.
type zerologHandler struct {
	l     zerolog.Logger
	attrs []slog.Attr
	group string
}

func (h zerologHandler) Enabled(_ context.Context, lvl slog.Level) bool {
	return h.l.GetLevel() <= slogToZerolog(lvl)
}

func (h zerologHandler) Handle(_ context.Context, r slog.Record) error {
	ev := h.l.WithLevel(slogToZerolog(r.Level))
	add := func(a slog.Attr) bool {
		key := a.Key
		if h.group != "" {
			key = h.group + "." + key
		}
		ev = ev.Interface(key, a.Value.Any())
		return true
	}
	for _, a := range h.attrs {
		add(a)
	}
	r.Attrs(add)
	ev.Msg(r.Message)
	return nil
}

func (h zerologHandler) WithAttrs(as []slog.Attr) slog.Handler {
	h.attrs = append(append([]slog.Attr(nil), h.attrs...), as...)
	return h
}

func (h zerologHandler) WithGroup(name string) slog.Handler {
	if h.group != "" {
		name = h.group + "." + name
	}
	h.group = name
	return h
}

func slogToZerolog(l slog.Level) zerolog.Level {
	switch {
	case l >= slog.LevelError:
		return zerolog.ErrorLevel
	case l >= slog.LevelWarn:
		return zerolog.WarnLevel
	case l >= slog.LevelInfo:
		return zerolog.InfoLevel
	}
	return zerolog.DebugLevel
}

// Stats are the counters the stages keep, read when metrics are scraped.
type Stats struct {
	// Counted is es-loader's CountedLogCount per log type (COUNT
	// conditions that matched).
	Counted map[string]uint64
	// Reloads is the status of every reloadable data source.
	Reloads []reload.Status
	// Lookups are the enrichment stages' lookups and matches, by stage.
	Lookups []Lookups
	// Stages are the other stages' own counters (normalize: ok, failed,
	// transform_error; encode: ok, truncated).
	Stages []StageCount
}

// StageCount is one counter of one stage.
type StageCount struct {
	Stage, Outcome string
	N              uint64
}

// Lookups counts one enrichment stage's lookups.
type Lookups struct {
	Stage            string
	Lookups, Matches uint64
}

// Stats reads the stages' counters (cheap: atomics and one lock per
// reloadable stage).
func (p *Pipeline) Stats() Stats {
	st := Stats{Counted: map[string]uint64{}}
	for _, s := range p.chain {
		switch s := s.(type) {
		case *normalize.Stage:
			n := s.Stats()
			st.Stages = append(st.Stages, StageCount{"normalize", "ok", n.Normalized}, StageCount{"normalize", "failed", n.Failed},
				StageCount{"normalize", "transform_error", n.TransformErrors})
		case *encode.Stage:
			n := s.Stats()
			st.Stages = append(st.Stages, StageCount{"encode", "ok", n.Encoded}, StageCount{"encode", "truncated", n.Truncated})
		}
	}
	for _, r := range p.reloaders {
		st.Reloads = append(st.Reloads, r.Status())
		if c, ok := r.(*exclude.Conditions); ok {
			for lt, n := range c.Stats() {
				st.Counted[lt] += n.CountedLogCount
			}
		}
		if l, ok := r.(interface{ Lookups() (uint64, uint64) }); ok {
			n, m := l.Lookups()
			st.Lookups = append(st.Lookups, Lookups{Stage: r.Name(), Lookups: n, Matches: m})
		}
	}
	return st
}
