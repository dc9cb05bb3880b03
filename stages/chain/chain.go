// Package chain assembles the stage chain the consumer, replay and the
// normalize dry run share:
//
//	decode → [exclude] → normalize → [geoip] → [ioc] → [useragent] →
//	[exclude_conditions] → encode
//
// A stage in brackets is optional and left out of the chain when it is not
// configured, so an unused feature costs nothing per event and no stage has
// a "disabled" pass-through path. The package also drives the lifecycle of
// the stages that load data (stages.Reloader: GeoIP, IoC, exclusion CSV,
// SSM conditions): New loads each once with Check (a bad source fails the
// start), Run follows them until Close or the end of its context, and Stats
// reads their status and the stages' counters for metrics.
//
// Consumes: Config (which optional stages, their sources) and Deps (the log
// types, the one logger, the S3 opener, the SSM condition loader). Produces:
// an Assembly whose Stages are safe for concurrent use by every shard
// processor. The stage contract itself is in package stages
// (stages/stage.go).
package chain

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/siemstream/siemstream/stages"
	"github.com/siemstream/siemstream/stages/decode"
	"github.com/siemstream/siemstream/stages/encode"
	"github.com/siemstream/siemstream/stages/exclude"
	"github.com/siemstream/siemstream/stages/geoip"
	"github.com/siemstream/siemstream/stages/ioc"
	"github.com/siemstream/siemstream/stages/normalize"
	"github.com/siemstream/siemstream/stages/useragent"
)

// Config says which optional stages run and where their data comes from.
// The zero Config runs decode → normalize → [useragent] → encode only
// (useragent when a log type asks for it).
type Config struct {
	// GeoIP is a directory or s3://bucket/prefix holding
	// GeoLite2/GeoLite2-City.mmdb and GeoLite2-ASN.mmdb ("" = no GeoIP).
	GeoIP string
	// IOC is a directory or s3://bucket/prefix with IOC/TXT/<provider>/ and
	// IOC/STIX2/<provider>/ feeds ("" = no threat intel).
	IOC string
	// ExcludeCSV is exclude_log_patterns.csv as a path or s3://bucket/key
	// ("" = no CSV rules).
	ExcludeCSV string
	// OwnLogExclusion drops the loader's own CloudTrail/S3 access records
	// (es-loader's ignore_own_logs). False in the zero Config.
	OwnLogExclusion bool
	// ReloadInterval is how often data sources are checked for a newer
	// version (0 = each stage's default).
	ReloadInterval time.Duration
	// Now is the clock for event.ingested (nil = time.Now).
	Now func() time.Time
}

// DefaultConfig returns the defaults: the minimum chain.
func DefaultConfig() Config { return Config{} }

// Validate checks what no single stage can: the sources themselves are
// checked by the stage that reads them.
func (c Config) Validate() error {
	if c.ReloadInterval < 0 {
		return errors.New("reload_interval: must not be negative")
	}
	return nil
}

// Deps are the chain's collaborators: the stages' own (stages.Deps, whose
// Registry is required) and the loader of SSM exclusion conditions.
type Deps struct {
	stages.Deps
	// Conditions loads SSM-style exclusion conditions (nil = no
	// exclude_conditions stage).
	Conditions exclude.ParamLoader
}

// Assembly is an assembled chain: its stages and, among them, the ones
// whose data is reloaded.
type Assembly struct {
	chain     stages.Chain
	reloaders []stages.Reloader
	deps      stages.Deps
	mu        sync.Mutex
	cancel    context.CancelFunc
	closed    bool
}

// New builds the stages and loads their data once, so a bad configuration
// or source fails at start rather than at the first record. It starts no
// goroutine: call Run to follow the sources.
func New(ctx context.Context, cfg Config, deps Deps) (*Assembly, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("chain: %w", err)
	}
	if deps.Registry == nil {
		return nil, errors.New("chain: nil registry")
	}
	a := &Assembly{deps: deps.Deps}
	if err := a.build(cfg, deps.Conditions); err != nil {
		return nil, err
	}
	for _, r := range a.reloaders {
		if _, err := r.Check(ctx); err != nil {
			return nil, fmt.Errorf("%s: initial load: %w", r.Name(), err)
		}
	}
	return a, nil
}

// build appends the configured stages in their fixed order.
func (a *Assembly) build(cfg Config, conditions exclude.ParamLoader) error {
	deps, types := a.deps, a.deps.Registry.Types()
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	// Output plans write a type's documents without the tree. GeoIP and
	// IoC enrich those documents through the marks the plans record
	// (stages.PlanMarks); the SSM conditions read the tree, so no plans
	// when they run.
	reg := deps.Registry
	plan := func(name string) bool { return reg.Lookup(name) != nil && conditions == nil }
	// Decode leaves the records of planned types flat for the plans to
	// read (decode.Config.Flat), unless an exclusion stage between decode
	// and normalize reads their trees: a CSV's rules may name any type
	// (and change on reload), the own-log rules name theirs.
	var own *exclude.Patterns
	if cfg.OwnLogExclusion {
		own = exclude.NewPatterns(exclude.OwnLogRules(exclude.DefaultOwnUserAgent))
	}
	dc := decode.DefaultConfig()
	dc.Flat = func(name string) bool { return plan(name) && cfg.ExcludeCSV == "" && !own.Has(name) }
	dec, err := decode.New(dc, deps)
	if err != nil {
		return err
	}
	a.chain = append(a.chain, dec)
	if cfg.ExcludeCSV != "" || cfg.OwnLogExclusion {
		ec := exclude.DefaultConfig()
		ec.CSV, ec.OwnLogs = cfg.ExcludeCSV, cfg.OwnLogExclusion
		ec.ReloadInterval = cfg.ReloadInterval
		for _, lt := range types {
			ec.KnownLogTypes = append(ec.KnownLogTypes, lt.Name)
		}
		st, err := exclude.New(ec, deps)
		if err != nil {
			return err
		}
		if cfg.ExcludeCSV != "" {
			a.addReloader(st)
		} else {
			a.chain = append(a.chain, st) // own-log patterns only: nothing to reload
		}
	}
	// The user-agent stage is built before normalize: output plans write
	// its fields themselves (it still runs, in its place, for the tree path).
	uc := useragent.DefaultConfig()
	uc.Fields = map[string]string{}
	for _, lt := range types {
		if lt.UserAgentEnrichmentField != "" {
			uc.Fields[lt.Name] = lt.UserAgentEnrichmentField
		}
	}
	var ua *useragent.Stage
	if len(uc.Fields) > 0 {
		if ua, err = useragent.New(uc, deps); err != nil {
			return err
		}
	}
	nc := normalize.DefaultConfig()
	nc.Now = now
	nc.Plan = plan
	nc.GeoIP, nc.IOC = cfg.GeoIP != "", cfg.IOC != ""
	if ua != nil {
		nc.UserAgent = func(b []byte) *normalize.UserAgent { return (*normalize.UserAgent)(ua.Lookup(b)) }
	}
	norm, err := normalize.New(nc, deps)
	if err != nil {
		return err
	}
	a.chain = append(a.chain, norm)
	if cfg.GeoIP != "" {
		gc := geoip.DefaultConfig()
		gc.Source, gc.ReloadInterval = cfg.GeoIP, cfg.ReloadInterval
		gc.Entities = map[string][]string{}
		for _, lt := range types {
			if len(lt.Geoip) > 0 {
				gc.Entities[lt.Name] = lt.Geoip
			}
		}
		st, err := geoip.New(gc, deps)
		if err != nil {
			return err
		}
		a.addReloader(st)
	}
	if cfg.IOC != "" {
		ic := ioc.DefaultConfig()
		ic.Source, ic.ReloadInterval = cfg.IOC, cfg.ReloadInterval
		ic.LogTypes = map[string]ioc.Fields{}
		for _, lt := range types {
			if len(lt.IOCIP) > 0 || len(lt.IOCDomain) > 0 {
				ic.LogTypes[lt.Name] = ioc.Fields{IP: lt.IOCIP, Domain: lt.IOCDomain}
			}
		}
		st, err := ioc.New(ic, deps)
		if err != nil {
			return err
		}
		a.addReloader(st)
	}
	if ua != nil {
		a.chain = append(a.chain, ua)
	}
	if conditions != nil {
		cc := exclude.ConditionsConfig{ReloadInterval: cfg.ReloadInterval}
		st, err := exclude.NewConditions(cc, exclude.ConditionsDeps{Deps: deps, Params: conditions})
		if err != nil {
			return err
		}
		a.addReloader(st)
	}
	enc, err := encode.New(encode.DefaultConfig(), deps)
	if err != nil {
		return err
	}
	a.chain = append(a.chain, enc)
	return nil
}

func (a *Assembly) addReloader(r stages.Reloader) {
	a.chain = append(a.chain, r)
	a.reloaders = append(a.reloaders, r)
}

// Stages returns the chain. Its stages are safe for concurrent use, so every
// shard processor shares them. The error is always nil: the method is the
// consumer's per-shard chain factory (consumer.New's chain argument).
func (a *Assembly) Stages() (stages.Chain, error) { return a.chain, nil }

// Run keeps reloadable data fresh until ctx ends or Close is called, and
// returns when every reload loop has stopped.
func (a *Assembly) Run(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return // closed before Run started
	}
	a.cancel = cancel
	a.mu.Unlock()
	log := a.deps.Log()
	var wg sync.WaitGroup
	for _, r := range a.reloaders {
		wg.Go(func() {
			if err := r.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
				log.Error("reload loop stopped", "stage", r.Name(), "err", err)
			}
		})
	}
	wg.Wait()
}

// Close stops the reload loops started by Run (or keeps a later Run from
// starting them).
func (a *Assembly) Close() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.closed = true
	if a.cancel != nil {
		a.cancel()
	}
}
