package exclude

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/siemstream/siemstream/internal/reload"
	"github.com/siemstream/siemstream/stages"
)

// ConditionsConfig configures the Parameter Store conditions stage (its
// ParamLoader, in ConditionsDeps, is required: without conditions the stage
// is left out of the chain).
type ConditionsConfig struct {
	// ReloadInterval is how often Run re-reads the parameters. Zero means
	// DefaultReloadInterval.
	ReloadInterval time.Duration `json:"reload_interval" yaml:"reload_interval"`
	// CountSamples is how many COUNT matches per log type are logged with the
	// record in each CountSampleEvery window (es-loader logs the first 3 per
	// S3 object). Zero means DefaultCountSamples; negative logs none.
	CountSamples int `json:"count_samples" yaml:"count_samples"`
	// CountSampleEvery is the sampling window. Zero means
	// DefaultCountSampleEvery.
	CountSampleEvery time.Duration `json:"count_sample_every" yaml:"count_sample_every"`
}

// DefaultConditionsConfig returns the documented defaults.
func DefaultConditionsConfig() ConditionsConfig {
	return ConditionsConfig{ReloadInterval: DefaultReloadInterval, CountSamples: DefaultCountSamples, CountSampleEvery: DefaultCountSampleEvery}
}

// Validate checks the fields.
func (c ConditionsConfig) Validate() error {
	var errs []error
	if c.ReloadInterval < 0 {
		errs = append(errs, errors.New("reload_interval: must not be negative"))
	}
	if c.CountSampleEvery < 0 {
		errs = append(errs, errors.New("count_sample_every: must not be negative"))
	}
	return errors.Join(errs...)
}

// ConditionsDeps are the conditions stage's collaborators.
type ConditionsDeps struct {
	stages.Deps
	// Params fetches the parameters (ssmparam.New for Parameter Store,
	// StaticParams for tests). Required: without conditions the stage is
	// left out of the chain.
	Params ParamLoader
}

// Conditions applies es-loader's Parameter Store exclusion conditions
// (/siem/exclude-logs/<log_type>/<name>) to the final document: it must run
// after normalize, geoip and ioc, before encode.
type Conditions struct {
	holder *reload.Holder[ConditionSet]
	cfg    ConditionsConfig
	log    *slog.Logger
	stats  counters
	errLog counters // rate limit for expression error logs, per log type
}

var _ stages.Reloader = (*Conditions)(nil)

// NewConditions builds the conditions stage. It does no I/O: call Check once
// at start-up and run Run to follow parameter changes.
func NewConditions(cfg ConditionsConfig, deps ConditionsDeps) (*Conditions, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("exclude conditions: %w", err)
	}
	if cfg.ReloadInterval == 0 {
		cfg.ReloadInterval = DefaultReloadInterval
	}
	if cfg.CountSamples == 0 {
		cfg.CountSamples = DefaultCountSamples
	}
	if cfg.CountSampleEvery == 0 {
		cfg.CountSampleEvery = DefaultCountSampleEvery
	}
	if deps.Params == nil {
		return nil, errors.New("exclude conditions: no parameter loader")
	}
	log := deps.Log()
	c := &Conditions{cfg: cfg, log: log}
	c.holder = reload.New[ConditionSet]("exclude_conditions", &paramSource{loader: deps.Params, log: log}, cfg.ReloadInterval, log)
	return c, nil
}

// Name implements stages.Stage.
func (c *Conditions) Name() string { return "exclude_conditions" }

// Check re-reads the parameters now (see reload.Holder.Check).
func (c *Conditions) Check(ctx context.Context) (bool, error) { return c.holder.Check(ctx) }

// Run follows parameter changes until ctx is done.
func (c *Conditions) Run(ctx context.Context) error { return c.holder.Run(ctx) }

// Status reports the holder.
func (c *Conditions) Status() reload.Status { return c.holder.Status() }

// Stats returns CountedLogCount and ExcludedLogCount per log type.
func (c *Conditions) Stats() map[string]Counts { return c.stats.snapshot() }

// Process implements stages.Stage. Only events of log types that have
// conditions are converted for JMESPath.
func (c *Conditions) Process(ctx context.Context, b *stages.Batch) error {
	set := c.holder.Load()
	if set.Len() == 0 {
		return nil
	}
	bc := batchCounter{c: &c.stats}
	var out Outcome
	for i := range b.Events {
		e := &b.Events[i]
		if e.Status != stages.Keep || e.Doc == nil || e.Src == nil {
			continue
		}
		conds := set.For(e.Src.LogType)
		if len(conds) == 0 {
			continue
		}
		v := toJMES(e.Doc, e.Doc.Root())
		Evaluate(conds, v, &out)
		ctr := bc.of(e.Src.LogType)
		for _, pe := range out.Errors {
			if c.sample(c.errLog.get(e.Src.LogType)) {
				c.log.Error("Failed to query JMESPath", "condition_name", pe.Name, "err", pe.Err, "error_kind", "condition_eval",
					"s3_bucket", e.Src.Bucket, "s3_key", e.Src.Key, "log_type", e.Src.LogType)
			}
		}
		for _, cond := range out.Counted {
			if c.sample(ctr) {
				c.log.Info(fmt.Sprintf("Log record matched '%s' with %s in Parameter Store", cond.Expression, cond.Name),
					"condition_name", cond.Name, "expression", cond.Expression, "log_record", v,
					"s3_bucket", e.Src.Bucket, "s3_key", e.Src.Key, "log_type", e.Src.LogType)
			}
		}
		if len(out.Counted) > 0 {
			ctr.counted.Add(1)
		}
		if out.Excluded != nil {
			e.Status = stages.Dropped
			e.Err = fmt.Errorf("%w: matched '%s' with %s in Parameter Store", ErrExcluded, out.Excluded.Expression, out.Excluded.Name)
			ctr.excluded.Add(1)
		}
	}
	return ctx.Err()
}

// sample reports whether one more log line fits the window of x.
func (c *Conditions) sample(x *counter) bool {
	if c.cfg.CountSamples < 0 {
		return false
	}
	now := time.Now().UnixNano()
	start := x.windowStart.Load()
	if now-start >= int64(c.cfg.CountSampleEvery) && x.windowStart.CompareAndSwap(start, now) {
		x.logged.Store(0)
	}
	return x.logged.Add(1) <= int32(c.cfg.CountSamples)
}

// paramSource fetches parameters for the holder; Version fetches and keeps
// them for the Load that follows in the same Check.
type paramSource struct {
	loader  ParamLoader
	log     *slog.Logger
	fetched []Parameter
}

func (p *paramSource) Version(ctx context.Context) (string, error) {
	ps, err := p.loader.Parameters(ctx)
	if err != nil {
		return "", err
	}
	ps = slices.Clone(ps)
	slices.SortFunc(ps, func(a, b Parameter) int { return strings.Compare(a.Name, b.Name) })
	p.fetched = ps
	return paramsVersion(ps), nil
}

func (p *paramSource) Load(ctx context.Context) (*ConditionSet, error) {
	set, errs := ParseConditions(p.fetched)
	for _, e := range errs {
		p.log.Error("exclusion condition ignored", "err", e)
	}
	p.log.Info("exclusion conditions loaded", "conditions", set.Len(), "ignored", len(errs))
	return set, nil
}
