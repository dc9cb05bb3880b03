package backfill

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/rs/zerolog"

	"github.com/siemstream/siemstream/producer"
	"github.com/siemstream/siemstream/producer/notify"
	"github.com/siemstream/siemstream/schemas"
)

// Lister lists a bucket; *s3.Client is one.
type Lister interface {
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, opts ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
}

// Config configures a backfill. Zero values mean what each field says.
type Config struct {
	// Bucket is the bucket to list (prefix mode), and the bucket of list
	// lines that name none.
	Bucket string
	// Prefix is the key prefix to list when ListFile is empty ("" lists
	// the whole bucket).
	Prefix string
	// ListFile, when set, is read instead of listing the bucket (see
	// ReadList for the accepted line formats).
	ListFile string
	// ListLocation is the time zone of `aws s3 ls` dates in ListFile (nil:
	// time.Local, which is what the AWS CLI prints in).
	ListLocation *time.Location
	// Filter selects objects by log type, time and prefix.
	Filter Filter
	// Workers is how many objects load at once (default 8).
	Workers int
	// Retries is how many more times a load failing with a retriable error
	// is tried (0: once only). RetryBackoff is the first wait, doubled each
	// time (0: retry at once).
	Retries      int
	RetryBackoff time.Duration
	// DryRun lists what would be loaded to Output and loads nothing; no
	// logs are written.
	DryRun bool
	// Output receives the dry-run listing (nil: discarded).
	Output io.Writer
	// LogDir is where the finish and error logs go ("": the current
	// directory).
	LogDir string
	// Name names the logs ("": the list file's base name, or
	// backfill-<bucket>-<prefix>).
	Name string
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{Workers: 8, Retries: 2, RetryBackoff: 2 * time.Second}
}

// Validate checks the config.
func (c Config) Validate() error {
	var errs []error
	if c.ListFile == "" && c.Bucket == "" {
		errs = append(errs, errors.New("bucket is required to list objects (--bucket), or give a list file (--list)"))
	}
	if c.Workers < 1 || c.Workers > 512 {
		errs = append(errs, fmt.Errorf("workers %d: must be 1..512", c.Workers))
	}
	if c.Retries < 0 {
		errs = append(errs, fmt.Errorf("retries %d: must be >= 0", c.Retries))
	}
	if c.RetryBackoff < 0 {
		errs = append(errs, fmt.Errorf("retry backoff %s: must be >= 0", c.RetryBackoff))
	}
	if c.Name != "" && (strings.ContainsRune(c.Name, os.PathSeparator) || c.Name == "." || c.Name == "..") {
		errs = append(errs, fmt.Errorf("name %q: must be a file name, not a path (use --log-dir)", c.Name))
	}
	if err := c.Filter.Validate(nil); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// RunName is the name of the logs: Name, the list file's base name, or
// backfill-<bucket>[-<prefix with unsafe characters as '-'>].
func (c Config) RunName() string {
	switch {
	case c.Name != "":
		return c.Name
	case c.ListFile != "":
		return filepath.Base(c.ListFile)
	}
	n := "backfill-" + c.Bucket
	if p := strings.Trim(unsafeName.ReplaceAllString(c.Prefix, "-"), "-."); p != "" {
		n += "-" + p
	}
	return n
}

// Backfill loads existing objects through a Loader.
type Backfill struct {
	cfg    Config
	det    Detector
	lister Lister
	loader Loader
	log    zerolog.Logger
	st     stats
}

// New checks cfg and builds a backfill. lister may be nil with a list file;
// loader may be nil for a dry run.
func New(cfg Config, det Detector, lister Lister, loader Loader, log zerolog.Logger) (*Backfill, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("backfill config: %w", err)
	}
	if det == nil {
		return nil, errors.New("backfill: a log type detector is required")
	}
	if l, ok := det.(interface{ Lookup(string) *schemas.LogType }); ok {
		if err := cfg.Filter.Validate(func(n string) bool { return l.Lookup(n) != nil }); err != nil {
			return nil, fmt.Errorf("backfill config: %w", err)
		}
	}
	if cfg.ListFile == "" && lister == nil {
		return nil, errors.New("backfill: an S3 client is required to list objects")
	}
	if !cfg.DryRun && loader == nil {
		return nil, errors.New("backfill: a loader is required (or DryRun)")
	}
	if cfg.Output == nil {
		cfg.Output = io.Discard
	}
	return &Backfill{cfg: cfg, det: det, lister: lister, loader: loader, log: log}, nil
}

type stats struct {
	start                              time.Time
	listed, alreadyDone, undated       atomic.Int64
	duplicates                         atomic.Int64
	queued, queuedSize, unsized        atomic.Int64
	loaded, failed, loadedSize         atomic.Int64
	records, quarantined, bytes, retry atomic.Int64
	skipped                            [SkipTime + 1]atomic.Int64
	listingDone                        atomic.Bool
}

// Progress returns the run's progress so far (safe to call while Run runs).
func (b *Backfill) Progress() Progress {
	s := &b.st
	p := Progress{
		Done: s.loaded.Load(), Failed: s.failed.Load(), Total: s.queued.Load(), TotalFinal: s.listingDone.Load(),
		Records: s.records.Load(), Bytes: s.bytes.Load(),
	}
	if !s.start.IsZero() {
		p.Elapsed = time.Since(s.start)
	}
	if s.unsized.Load() == 0 {
		p.Size, p.SizeTotal = s.loadedSize.Load(), s.queuedSize.Load()
	}
	return p
}

// Summary is what a run did.
type Summary struct {
	Name                string
	FinishLog, ErrorLog string // ErrorLog is "" when it was removed (no failures)
	Listed              int64  // entries read from the list or the listing
	AlreadyDone         int64  // skipped: in the finish log of an earlier run
	Duplicates          int64  // skipped: listed twice in the list file
	Skipped             map[string]int64
	Undated             int64 // passed the time filter for lack of a date
	Queued              int64 // handed to the loader (or printed, dry run)
	Loaded, Failed      int64
	Records             int64
	Quarantined         int64 // records quarantined inside loaded objects
	Bytes               int64 // read from S3 (ObjectResult.Bytes)
	Retries             int64
	Interrupted         bool
	Elapsed             time.Duration
}

// Run loads the objects. Cancelling ctx stops taking new objects; those
// being loaded finish and are logged, then Run returns with Interrupted set.
// The error is for the run as a whole (unreadable list, listing failed,
// logs unwritable); object failures are counted in the Summary and written
// to the error log.
func (b *Backfill) Run(ctx context.Context) (Summary, error) {
	b.st.start = time.Now()
	name := b.cfg.RunName()
	sum := Summary{Name: name, Skipped: map[string]int64{}}
	sum.FinishLog, sum.ErrorLog = JournalPaths(b.cfg.LogDir, name)

	var entries []Entry
	if b.cfg.ListFile != "" {
		var err error
		if entries, err = b.readList(); err != nil {
			return sum, err
		}
	}

	var j *Journal
	var done func(uri string) bool
	if b.cfg.DryRun {
		set, err := ReadFinished(sum.FinishLog)
		if err != nil {
			return sum, err
		}
		done = func(uri string) bool { _, ok := set[uri]; return ok }
		if len(set) > 0 {
			b.log.Info().Int("objects", len(set)).Str("finish_log", sum.FinishLog).Msg("objects already finished by an earlier run are not listed")
		}
	} else {
		var err error
		if j, err = OpenJournal(b.cfg.LogDir, name, true); err != nil {
			return sum, err
		}
		done = j.Done
		if n := j.Prior(); n > 0 {
			b.log.Info().Int("objects", n).Str("finish_log", sum.FinishLog).Msg("resuming: objects already in the finish log are skipped")
		}
	}

	// planCtx stops the planner on interruption or when the logs fail.
	planCtx, stopPlan := context.WithCancel(ctx)
	defer stopPlan()
	var fatal atomic.Pointer[error]
	fail := func(err error) {
		fatal.CompareAndSwap(nil, &err)
		stopPlan()
	}

	work := make(chan Entry)
	var wg sync.WaitGroup
	if !b.cfg.DryRun {
		workCtx := context.WithoutCancel(ctx)
		for range b.cfg.Workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for e := range work {
					if planCtx.Err() != nil {
						// Stopping: emit's select may still have handed
						// this one over (both cases ready). Not started,
						// so not in the finish log: a resume loads it.
						continue
					}
					if err := b.loadOne(workCtx, planCtx, j, e); err != nil {
						fail(err)
					}
				}
			}()
		}
	}
	emit := func(e Entry, lt string) bool {
		if b.cfg.DryRun {
			b.printEntry(e, lt)
			return true
		}
		if planCtx.Err() != nil {
			return false
		}
		select {
		case work <- e:
			return true
		case <-planCtx.Done():
			return false
		}
	}
	var planErr error
	if b.cfg.ListFile != "" {
		b.planList(planCtx, entries, done, emit)
	} else {
		planErr = b.planListing(planCtx, done, emit)
	}
	close(work)
	wg.Wait()

	sum.Interrupted = ctx.Err() != nil
	if j != nil {
		if err := j.Close(); err != nil {
			planErr = errors.Join(planErr, fmt.Errorf("close logs: %w", err))
		}
		if _, failed := j.Counts(); failed == 0 {
			sum.ErrorLog = ""
		}
	} else {
		sum.FinishLog, sum.ErrorLog = "", ""
	}
	if p := fatal.Load(); p != nil {
		planErr = errors.Join(planErr, *p)
	}
	b.fill(&sum)
	return sum, planErr
}

func (b *Backfill) readList() ([]Entry, error) {
	f, err := os.Open(b.cfg.ListFile)
	if err != nil {
		return nil, fmt.Errorf("list file: %w", err)
	}
	defer f.Close()
	entries, st, err := ReadList(f, ListOptions{Bucket: b.cfg.Bucket, Location: b.cfg.ListLocation})
	if err != nil {
		return nil, fmt.Errorf("list file %s: %w", b.cfg.ListFile, err)
	}
	ev := b.log.Info().Str("list", b.cfg.ListFile).Int("lines", st.Lines).Int("objects", len(entries)).Int("skipped_lines", st.Skipped)
	for k, n := range st.ByKind {
		if k != LineSkip {
			ev = ev.Int("lines_"+strings.ReplaceAll(k.String(), "-", "_"), n)
		}
	}
	ev.Msg("list file read")
	return entries, nil
}

func (b *Backfill) planList(ctx context.Context, entries []Entry, done func(string) bool, emit func(Entry, string) bool) {
	defer b.st.listingDone.Store(true)
	// Queue the whole list first so the total (and the ETA) is known.
	seen := make(map[string]struct{}, len(entries))
	type item struct {
		e  Entry
		lt string
	}
	var todo []item
	for _, e := range entries {
		b.st.listed.Add(1)
		uri := e.URI()
		if _, dup := seen[uri]; dup {
			b.st.duplicates.Add(1)
			continue
		}
		seen[uri] = struct{}{}
		if lt, ok := b.decide(e, done); ok {
			todo = append(todo, item{e, lt})
		}
	}
	b.st.listingDone.Store(true)
	for _, it := range todo {
		if ctx.Err() != nil || !emit(it.e, it.lt) {
			return
		}
	}
}

func (b *Backfill) planListing(ctx context.Context, done func(string) bool, emit func(Entry, string) bool) error {
	defer b.st.listingDone.Store(true)
	pages := s3.NewListObjectsV2Paginator(b.lister, &s3.ListObjectsV2Input{Bucket: &b.cfg.Bucket, Prefix: &b.cfg.Prefix})
	n := 0
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("list s3://%s/%s: %w", b.cfg.Bucket, b.cfg.Prefix, err)
		}
		for _, o := range page.Contents {
			n++
			e := Entry{Line: n, Bucket: b.cfg.Bucket, Key: aws.ToString(o.Key), Size: aws.ToInt64(o.Size), LastModified: aws.ToTime(o.LastModified)}
			if o.Size == nil {
				e.Size = -1
			}
			b.st.listed.Add(1)
			lt, ok := b.decide(e, done)
			if !ok {
				continue
			}
			if !emit(e, lt) {
				return nil
			}
		}
	}
	return nil
}

// decide filters one entry and counts it; ok means queue it.
func (b *Backfill) decide(e Entry, done func(string) bool) (logType string, ok bool) {
	if done(e.URI()) {
		b.st.alreadyDone.Add(1)
		return "", false
	}
	d, lt := b.cfg.Filter.Decide(b.det, e)
	if d != Load {
		if n := b.st.skipped[d].Add(1); d == SkipUnknown && n <= 20 {
			b.log.Info().Str("s3_bucket", e.Bucket).Str("s3_key", e.Key).Str("log_type", "unknown").Msg("skipped: no log type matches the key")
		} else {
			b.log.Debug().Str("s3_bucket", e.Bucket).Str("s3_key", e.Key).Stringer("reason", d).Msg("skipped")
		}
		return "", false
	}
	if e.LastModified.IsZero() && (!b.cfg.Filter.Since.IsZero() || !b.cfg.Filter.Until.IsZero()) {
		b.st.undated.Add(1)
	}
	b.st.queued.Add(1)
	if e.Size >= 0 {
		b.st.queuedSize.Add(e.Size)
	} else {
		b.st.unsized.Add(1)
	}
	return lt.Name, true
}

func (b *Backfill) printEntry(e Entry, lt string) {
	size, mod := "-", "-"
	if e.Size >= 0 {
		size = strconv.FormatInt(e.Size, 10)
	}
	if !e.LastModified.IsZero() {
		mod = e.LastModified.UTC().Format(time.RFC3339)
	}
	fmt.Fprintf(b.cfg.Output, "%d\t%s\t%s\t%s\t%s\n", e.Line, e.URI(), lt, size, mod)
}

// loadOne loads e and logs the outcome; the error is for the journal only.
func (b *Backfill) loadOne(work, stop context.Context, j *Journal, e Entry) error {
	o := notify.Object{Bucket: e.Bucket, Key: e.Key, Size: max(e.Size, 0)}
	lr := load(work, stop, b.loader, o, retryPolicy{b.cfg.Retries, b.cfg.RetryBackoff}, b.log)
	b.st.retry.Add(int64(lr.attempts - 1))
	line := strconv.Itoa(e.Line)
	b.st.records.Add(lr.res.Records)
	b.st.bytes.Add(lr.res.Bytes)
	if e.Size > 0 {
		b.st.loadedSize.Add(e.Size)
	}
	if lr.failure != "" {
		b.st.failed.Add(1)
		b.log.Error().Str("error_kind", "object_load").Str("s3_bucket", e.Bucket).Str("s3_key", e.Key).Str("log_type", lr.res.LogType).Int("line", e.Line).Str("reason", lr.failure).Msg("object not loaded")
		return j.Fail(line, e.URI(), lr.failure)
	}
	switch lr.res.Outcome {
	case producer.Unknown:
		b.st.queued.Add(-1)
		b.st.skipped[SkipUnknown].Add(1)
		return nil
	case producer.Ignored:
		b.st.queued.Add(-1)
		b.st.skipped[SkipIgnored].Add(1)
		return nil
	}
	b.st.loaded.Add(1)
	b.st.quarantined.Add(lr.res.Quarantined)
	return j.Finish(line, e.URI())
}

func (b *Backfill) fill(sum *Summary) {
	s := &b.st
	sum.Listed, sum.AlreadyDone, sum.Undated = s.listed.Load(), s.alreadyDone.Load(), s.undated.Load()
	sum.Duplicates = s.duplicates.Load()
	sum.Queued, sum.Loaded, sum.Failed = s.queued.Load(), s.loaded.Load(), s.failed.Load()
	sum.Records, sum.Quarantined, sum.Bytes, sum.Retries = s.records.Load(), s.quarantined.Load(), s.bytes.Load(), s.retry.Load()
	for d := SkipFolder; d <= SkipTime; d++ {
		if n := s.skipped[d].Load(); n > 0 {
			sum.Skipped[d.String()] = n
		}
	}
	sum.Elapsed = time.Since(s.start)
}
