package exclude

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/siemstream/siemstream/internal/reload"
	"github.com/siemstream/siemstream/stages"
)

// ErrExcluded is wrapped by Event.Err of every event this package drops.
var ErrExcluded = errors.New("excluded")

// Defaults.
const (
	DefaultReloadInterval   = 5 * time.Minute
	DefaultOwnUserAgent     = "siem-es-loader"
	DefaultMaxCSVSize       = 8 << 20
	DefaultCountSamples     = 3
	DefaultCountSampleEvery = time.Minute
)

// Config configures the pattern stage (es-loader's exclude_log_patterns.csv
// and built-in own-log patterns, matched on the raw parsed record). The zero
// Config matches nothing; stages/chain leaves the stage out then.
type Config struct {
	// CSV is exclude_log_patterns.csv: a local file or s3://bucket/key. ""
	// means no CSV rules. A missing file means no CSV rules (it is polled);
	// an unreadable one keeps the rules in use.
	CSV string `json:"csv" yaml:"csv"`
	// OwnLogs enables es-loader's built-in patterns that drop the SIEM's own
	// CloudTrail / S3 access log / Security Lake records (es-loader's
	// ignore_own_logs, True in its aws.ini). False in the zero Config.
	OwnLogs bool `json:"own_logs" yaml:"own_logs"`
	// OwnUserAgent is the loader's user agent for the own-log patterns. Zero
	// means DefaultOwnUserAgent.
	OwnUserAgent string `json:"own_user_agent" yaml:"own_user_agent"`
	// KnownLogTypes, when set, refuses CSV rows for any other log type.
	KnownLogTypes []string `json:"known_log_types" yaml:"known_log_types"`
	// ReloadInterval is how often Run polls the CSV. Zero means
	// DefaultReloadInterval.
	ReloadInterval time.Duration `json:"reload_interval" yaml:"reload_interval"`
}

// DefaultConfig returns the documented defaults: own-log patterns on, no CSV.
func DefaultConfig() Config {
	return Config{OwnLogs: true, OwnUserAgent: DefaultOwnUserAgent, ReloadInterval: DefaultReloadInterval}
}

// Validate checks the fields.
func (c Config) Validate() error {
	var errs []error
	if c.CSV != "" {
		if _, err := reload.ParseLocation(c.CSV); err != nil {
			errs = append(errs, fmt.Errorf("csv: %w", err))
		}
	}
	if c.ReloadInterval < 0 {
		errs = append(errs, errors.New("reload_interval: must not be negative"))
	}
	return errors.Join(errs...)
}

// Stage drops raw records that match an exclusion pattern. It runs after
// decode and before normalize (Event.Doc holds the parsed raw record).
type Stage struct {
	own *Patterns
	// holder has the CSV rules; without a CSV its source is always empty
	// (no rules) and stages/chain does not run it as a reloader.
	holder *reload.Holder[Patterns]
	log    *slog.Logger
	stats  counters
}

var _ stages.Reloader = (*Stage)(nil)

// New builds the pattern stage. It does no I/O: call Check once at start-up
// (to load the CSV before the first batch) and run Run to follow changes.
func New(cfg Config, deps stages.Deps) (*Stage, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("exclude: %w", err)
	}
	if cfg.ReloadInterval == 0 {
		cfg.ReloadInterval = DefaultReloadInterval
	}
	if cfg.OwnUserAgent == "" {
		cfg.OwnUserAgent = DefaultOwnUserAgent
	}
	log := deps.Log()
	s := &Stage{log: log}
	if cfg.OwnLogs {
		s.own = NewPatterns(OwnLogRules(cfg.OwnUserAgent))
	}
	var src reload.Source[Patterns] = noCSV{}
	if cfg.CSV != "" {
		store, key, err := reload.OpenFile(cfg.CSV, deps.S3)
		if err != nil {
			return nil, fmt.Errorf("exclude: csv: %w", err)
		}
		src = &csvSource{store: store, key: key, known: cfg.KnownLogTypes, log: log}
	}
	s.holder = reload.New[Patterns]("exclude_log_patterns", src, cfg.ReloadInterval, log)
	return s, nil
}

// Name implements stages.Stage.
func (s *Stage) Name() string { return "exclude" }

// Check loads the CSV now if it changed (see reload.Holder.Check).
func (s *Stage) Check(ctx context.Context) (bool, error) { return s.holder.Check(ctx) }

// Run follows CSV changes until ctx is done.
func (s *Stage) Run(ctx context.Context) error { return s.holder.Run(ctx) }

// Status reports the CSV holder.
func (s *Stage) Status() reload.Status { return s.holder.Status() }

// Stats returns the counters per log type.
func (s *Stage) Stats() map[string]Counts { return s.stats.snapshot() }

// Process implements stages.Stage.
func (s *Stage) Process(ctx context.Context, b *stages.Batch) error {
	csv := s.holder.Load()
	if s.own.Len() == 0 && csv.Len() == 0 {
		return nil
	}
	bc := batchCounter{c: &s.stats}
	rec := docRecord{}
	for i := range b.Events {
		e := &b.Events[i]
		if e.Status != stages.Keep || e.Doc == nil || e.Src == nil {
			continue
		}
		lt := e.Src.LogType
		if !s.own.Has(lt) && !csv.Has(lt) {
			continue
		}
		rec.d = e.Doc
		r, hit, ok := s.own.Match(lt, &rec)
		if !ok {
			r, hit, ok = csv.Match(lt, &rec)
		}
		if !ok {
			continue
		}
		e.Status = stages.Dropped
		e.Err = fmt.Errorf("%w: matched {%s: %s} with log_exclusion_patterns (%s)", ErrExcluded, r.Path[len(r.Path)-1], hit, r.Origin)
		bc.of(lt).excluded.Add(1)
	}
	return ctx.Err()
}

// noCSV is the source of a stage without a CSV: always empty, so the
// holder never loads anything.
type noCSV struct{}

func (noCSV) Version(context.Context) (string, error) { return "", reload.ErrEmpty }
func (noCSV) Load(context.Context) (*Patterns, error) { return nil, reload.ErrEmpty }

// csvSource loads exclude_log_patterns.csv for the holder.
type csvSource struct {
	store reload.Store
	key   string
	known []string
	log   *slog.Logger
}

const absentVersion = "absent"

func (c *csvSource) Version(ctx context.Context) (string, error) {
	info, err := c.store.Stat(ctx, c.key)
	if errors.Is(err, reload.ErrNotExist) {
		return absentVersion, nil
	}
	if err != nil {
		return "", err
	}
	return reload.Fingerprint(info), nil
}

func (c *csvSource) Load(ctx context.Context) (*Patterns, error) {
	data, err := c.store.ReadAll(ctx, c.key, DefaultMaxCSVSize)
	if errors.Is(err, reload.ErrNotExist) {
		c.log.Info("exclude_log_patterns.csv is absent: no CSV rules", "location", c.store.String()+"/"+c.key)
		return NewPatterns(), nil
	}
	if err != nil {
		return nil, err
	}
	rules, rowErrs, err := ParseCSV(c.key, data, c.known)
	if err != nil {
		return nil, err
	}
	for _, e := range rowErrs {
		c.log.Error("exclusion pattern ignored", "err", e)
	}
	c.log.Info("exclusion patterns loaded", "rules", len(rules), "ignored_rows", len(rowErrs))
	return NewPatterns(rules), nil
}
