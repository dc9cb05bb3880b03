package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/rs/zerolog"

	"github.com/siemstream/siemstream/internal/awsconf"
	"github.com/siemstream/siemstream/internal/metrics"
	"github.com/siemstream/siemstream/internal/obs"
	"github.com/siemstream/siemstream/producer"
	"github.com/siemstream/siemstream/producer/backfill"
	"github.com/siemstream/siemstream/schemas"
)

func runBackfill(ctx context.Context, args []string) error {
	f := newFlags("backfill", "--bucket B (--prefix P | --list FILE) [flags]")
	d := backfill.DefaultConfig()
	bucket := f.str("bucket", "SIEM_LOG_BUCKET", "", "bucket to list, and of list lines that name none")
	prefix := f.str("prefix", "", "", "list objects under this key prefix (--prefix '' lists the whole bucket)")
	list := f.str("list", "", "", "read objects from a file instead: 'aws s3 ls --recursive' output, one key or s3:// URI per line, or an error log")
	var logTypes listFlag
	f.Var(&logTypes, "log-type", "load only this log type (repeatable, or comma-separated), e.g. vpcflowlogs,cloudtrail")
	since := f.str("since", "", "", "load only objects modified at or after this time: RFC 3339, YYYY-MM-DD[ HH:MM[:SS]] (UTC), or an age like 36h or 7d")
	until := f.str("until", "", "", "load only objects modified before this time (same forms as --since)")
	listTZ := f.str("list-tz", "", "Local", "time zone of the dates in an 'aws s3 ls' list (the CLI prints local time), e.g. UTC or Asia/Tokyo")
	workers := f.integer("workers", "SIEM_BACKFILL_WORKERS", d.Workers, "objects loaded at once")
	retries := f.integer("retries", "", d.Retries, "retries of an object failing with a retriable error (with backoff)")
	dryRun := f.boolean("dry-run", "", false, "print the objects that would be loaded (line, s3 URI, log type, size, modified) and load nothing")
	logDir := f.str("log-dir", "", "", "directory of the <name>.finish.log and <name>.error.log files (default: current directory)")
	name := f.str("name", "", "", "name of the logs (default: the list file's base name, or backfill-<bucket>-<prefix>)")
	progress := f.duration("progress", "SIEM_PROGRESS", 10*time.Second, "progress log interval when not on a terminal")
	pf := loaderFlags(f)
	if err := f.Parse(args); err != nil {
		return err
	}
	set := map[string]bool{}
	f.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	if f.NArg() > 0 || set["prefix"] == (*list != "") {
		fmt.Fprintln(f.Output(), "backfill: give exactly one of --prefix and --list")
		f.Usage()
		return exitError(2)
	}

	bar := isTerminal(os.Stderr) && *f.logFormat != "json" && !*dryRun
	log, sw, err := progressLogger(*f.logFormat, *f.logLevel, bar)
	if err != nil {
		return err
	}
	now := time.Now()
	cfg := d
	cfg.Bucket, cfg.ListFile, cfg.Workers, cfg.Retries = *bucket, *list, *workers, *retries
	if set["prefix"] {
		cfg.Prefix = *prefix
	}
	cfg.DryRun, cfg.Output, cfg.LogDir, cfg.Name = *dryRun, os.Stdout, *logDir, *name
	cfg.Filter.LogTypes = logTypes
	cfg.Filter.ExcludePrefixes = []string{*pf.dlPrefix}
	if cfg.Filter.Since, err = backfill.ParseTime(*since, now); err != nil {
		return fmt.Errorf("--since: %w", err)
	}
	if cfg.Filter.Until, err = backfill.ParseTime(*until, now); err != nil {
		return fmt.Errorf("--until: %w", err)
	}
	if cfg.ListLocation, err = time.LoadLocation(*listTZ); err != nil {
		return fmt.Errorf("--list-tz: %w", err)
	}

	reg, err := schemas.Load(schemas.Options{UserINI: *pf.userINI})
	if err != nil {
		return err
	}
	for _, w := range reg.Warnings() {
		log.Warn().Msg(w)
	}
	awsCfg, err := awsconf.Load(ctx, *pf.region)
	if err != nil {
		return err
	}
	o := pf.ops.start(ctx, log)
	defer o.close()
	o.aws(&awsCfg)
	s3c, err := s3Router(awsCfg, *pf.sources, log)
	if err != nil {
		return err
	}
	var loader backfill.Loader
	if !cfg.DryRun {
		p, err := pf.producer(awsCfg, s3c, reg, o, log)
		if err != nil {
			return err
		}
		loader = p
	}
	b, err := backfill.New(cfg, reg, s3c, loader, log)
	if err != nil {
		return err
	}
	log.Info().Str("name", cfg.RunName()).Str("bucket", cfg.Bucket).Str("prefix", cfg.Prefix).Str("list", cfg.ListFile).
		Strs("log_types", cfg.Filter.LogTypes).Int("workers", cfg.Workers).Bool("dry_run", cfg.DryRun).Msg("backfill starting")

	stopSignals := hardStopOnSecondSignal(log)
	defer stopSignals()
	repCtx, stopRep := context.WithCancel(context.Background())
	repDone := make(chan struct{})
	go func() {
		defer close(repDone)
		if cfg.DryRun {
			return
		}
		backfill.NewReporter(backfill.ReporterConfig{Terminal: sw, Every: *progress, Unit: "objects"}, log).Run(repCtx, b.Progress)
	}()
	sum, runErr := b.Run(ctx)
	stopRep()
	<-repDone

	secs := sum.Elapsed.Seconds()
	ev := log.Info()
	if sum.Failed > 0 || sum.Interrupted {
		ev = log.Warn()
	}
	ev = ev.Str("name", sum.Name).Int64("listed", sum.Listed).Int64("already_finished", sum.AlreadyDone).
		Int64("queued", sum.Queued).Int64("loaded", sum.Loaded).Int64("failed", sum.Failed).
		Int64("records", sum.Records).Int64("quarantined_records", sum.Quarantined).Int64("bytes", sum.Bytes).
		Int64("retries", sum.Retries).Dur("elapsed", sum.Elapsed.Round(time.Millisecond)).
		Str("objects_per_s", fmt.Sprintf("%.1f", float64(sum.Loaded+sum.Failed)/secs)).
		Str("records_per_s", fmt.Sprintf("%.0f", float64(sum.Records)/secs)).Bool("interrupted", sum.Interrupted)
	for k, n := range sum.Skipped {
		ev = ev.Int64("skipped_"+k, n)
	}
	if sum.Duplicates > 0 {
		ev = ev.Int64("skipped_duplicate", sum.Duplicates)
	}
	if sum.Undated > 0 {
		ev = ev.Int64("undated_not_time_filtered", sum.Undated)
	}
	if sum.FinishLog != "" {
		ev = ev.Str("finish_log", sum.FinishLog)
	}
	if sum.ErrorLog != "" {
		ev = ev.Str("error_log", sum.ErrorLog)
	}
	ev.Msg("backfill finished")
	return endOfRun(log, runErr, sum.Failed, sum.Interrupted, sum.ErrorLog,
		"%d object(s) failed; run the same command again to retry them (finished ones are skipped)")
}

// endOfRun is how backfill and redrive exit: the run's error if any, else
// status 1 with a hint (failedHint, given the count) when items failed,
// 130 when interrupted.
func endOfRun(log zerolog.Logger, runErr error, failed int64, interrupted bool, errorLog, failedHint string) error {
	switch {
	case runErr != nil:
		return runErr
	case failed > 0:
		log.Warn().Str("error_log", errorLog).Msgf(failedHint, failed)
		return exitError(1)
	case interrupted:
		return exitError(130)
	}
	return nil
}

// loaderFlagValues are the producer settings backfill and redrive load with.
type loaderFlagValues struct {
	stream, region, userINI, dlBucket, dlPrefix, sources, codec *string
	maxRec                                                      *int
	ops                                                         *opsFlagValues
}

func loaderFlags(f *flags) *loaderFlagValues {
	d := producer.DefaultConfig()
	return &loaderFlagValues{
		stream:   f.str("stream", "SIEM_STREAM", "", "Kinesis stream name"),
		region:   f.str("region", "AWS_REGION", "us-east-1", "AWS region"),
		userINI:  f.str("user-ini", "SIEM_USER_INI", "", "es-loader user.ini to honour (log types, key patterns)"),
		dlBucket: f.str("dead-letter-bucket", "SIEM_DEAD_LETTER_BUCKET", "", "bucket for quarantined records/objects (default: the object's bucket)"),
		dlPrefix: f.str("dead-letter-prefix", "SIEM_DEAD_LETTER_PREFIX", d.DeadLetterPrefix, "key prefix for quarantined records/objects (never loaded)"),
		maxRec:   f.integer("max-record-bytes", "SIEM_MAX_RECORD_BYTES", d.MaxRecordBytes, "largest raw record accepted; longer ones are quarantined"),
		codec:    codecFlag(f),
		ops:      opsFlags(f, metrics.RoleProducer),
		sources:  sourcesFlag(f),
	}
}

// producer builds the producer whose LoadObject does the loading; no queue
// is read.
func (v *loaderFlagValues) producer(awsCfg aws.Config, s3c producer.S3API, reg *schemas.Registry, o *ops, log zerolog.Logger) (*producer.Producer, error) {
	cfg := producer.DefaultConfig()
	cfg.Stream, cfg.DeadLetterBucket, cfg.DeadLetterPrefix, cfg.MaxRecordBytes, cfg.Codec = *v.stream, *v.dlBucket, *v.dlPrefix, *v.maxRec, *v.codec
	cfg.Observer = o.m.Producer(o.h)
	counts := obs.NewRegistry()
	o.counts(counts)
	return producer.New(cfg, reg, s3c, nil, kinesis.NewFromConfig(awsCfg), counts, log)
}

// listFlag is a repeatable, comma-separable string flag.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(s string) error {
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			*l = append(*l, v)
		}
	}
	return nil
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// progressLogger is newLogger, except that with a progress bar the console
// log goes through a writer shared with the bar so lines do not collide.
func progressLogger(format, level string, bar bool) (zerolog.Logger, *backfill.SyncWriter, error) {
	if !bar {
		l, err := newLogger(format, level)
		return l, nil, err
	}
	lvl, err := zerolog.ParseLevel(level)
	if err != nil {
		return zerolog.Logger{}, nil, fmt.Errorf("log level %q: %w", level, err)
	}
	sw := backfill.NewSyncWriter(os.Stderr)
	l := zerolog.New(zerolog.ConsoleWriter{Out: sw, TimeFormat: time.TimeOnly}).Level(lvl).With().Timestamp().Logger()
	return l, sw, nil
}

// hardStopOnSecondSignal: the first SIGINT/SIGTERM cancels the command's
// context (main's signal.NotifyContext: finish in-flight work, write logs);
// a second one exits at once. Objects in flight are then not in the finish
// log and are loaded again by the next run.
func hardStopOnSecondSignal(log zerolog.Logger) func() {
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		n := 0
		for {
			select {
			case <-done:
				return
			case <-ch:
				if n++; n == 1 {
					log.Warn().Msg("stopping: no new work is taken, work in flight finishes and is logged (signal again to abort at once)")
					continue
				}
				log.Error().Msg("aborted: work in flight is not logged as finished and will be redone by the next run")
				os.Exit(130)
			}
		}
	}()
	return func() { signal.Stop(ch); close(done) }
}
