package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/siemstream/siemstream/internal/awsconf"
	"github.com/siemstream/siemstream/producer/backfill"
	"github.com/siemstream/siemstream/schemas"
)

func runRedrive(ctx context.Context, args []string) error {
	f := newFlags("redrive", "--queue DLQ_URL [--to-queue URL] [--max N] [flags]")
	d := backfill.DefaultRedriveConfig()
	queue := f.str("queue", "SIEM_DLQ_URL", "", "dead-letter queue URL to drain")
	toQueue := f.str("to-queue", "", "", "move messages to this queue unchanged (send, then delete) instead of loading their objects")
	maxMsgs := f.integer("max", "", 0, "stop after this many messages (0: until the queue is empty)")
	workers := f.integer("workers", "SIEM_REDRIVE_WORKERS", d.Workers, "messages handled at once")
	vis := f.duration("visibility-timeout", "", d.VisibilityTimeout, "visibility timeout of received messages (extended while one is handled)")
	retries := f.integer("retries", "", d.Retries, "retries of an object failing with a retriable error (with backoff)")
	logDir := f.str("log-dir", "", "", "directory of the <name>.finish.log and <name>.error.log files (default: current directory)")
	name := f.str("name", "", "", "name of the logs (default: redrive-<queue name>)")
	progress := f.duration("progress", "SIEM_PROGRESS", 10*time.Second, "progress log interval when not on a terminal")
	pf := loaderFlags(f)
	if err := f.Parse(args); err != nil {
		return err
	}
	if f.NArg() > 0 || *queue == "" {
		fmt.Fprintln(f.Output(), "redrive: --queue is required")
		f.Usage()
		return exitError(2)
	}
	bar := isTerminal(os.Stderr) && *f.logFormat != "json"
	log, sw, err := progressLogger(*f.logFormat, *f.logLevel, bar)
	if err != nil {
		return err
	}
	cfg := d
	cfg.QueueURL, cfg.ToQueueURL, cfg.Max, cfg.Workers, cfg.VisibilityTimeout = *queue, *toQueue, *maxMsgs, *workers, *vis
	cfg.Retries, cfg.LogDir, cfg.Name = *retries, *logDir, *name

	awsCfg, err := awsconf.Load(ctx, *pf.region)
	if err != nil {
		return err
	}
	o := pf.ops.start(ctx, log)
	defer o.close()
	o.aws(&awsCfg)
	var loader backfill.Loader
	if cfg.ToQueueURL == "" {
		reg, err := schemas.Load(schemas.Options{UserINI: *pf.userINI})
		if err != nil {
			return err
		}
		for _, w := range reg.Warnings() {
			log.Warn().Msg(w)
		}
		s3c, err := s3Router(awsCfg, *pf.sources, log)
		if err != nil {
			return err
		}
		p, err := pf.producer(awsCfg, s3c, reg, o, log)
		if err != nil {
			return err
		}
		loader = p
	}
	r, err := backfill.NewRedrive(cfg, sqs.NewFromConfig(awsCfg), loader, log)
	if err != nil {
		return err
	}
	mode := "load"
	if cfg.ToQueueURL != "" {
		mode = "move to " + cfg.ToQueueURL
	}
	log.Info().Str("name", cfg.RunName()).Str("queue", cfg.QueueURL).Str("mode", mode).Int("max", cfg.Max).Msg("redrive starting")

	stopSignals := hardStopOnSecondSignal(log)
	defer stopSignals()
	repCtx, stopRep := context.WithCancel(context.Background())
	repDone := make(chan struct{})
	go func() {
		defer close(repDone)
		backfill.NewReporter(backfill.ReporterConfig{Terminal: sw, Every: *progress, Unit: "messages"}, log).Run(repCtx, r.Progress)
	}()
	sum, runErr := r.Run(ctx)
	stopRep()
	<-repDone

	ev := log.Info()
	if sum.Failed > 0 || sum.Interrupted {
		ev = log.Warn()
	}
	ev = ev.Str("name", sum.Name).Int64("received", sum.Received).Int64("deleted", sum.Deleted).Int64("moved", sum.Moved).
		Int64("failed", sum.Failed).Int64("no_objects", sum.Empty).Int64("objects", sum.Objects).Int64("records", sum.Records).
		Int64("bytes", sum.Bytes).Int64("retries", sum.Retries).Dur("elapsed", sum.Elapsed.Round(time.Millisecond)).
		Bool("interrupted", sum.Interrupted).Str("finish_log", sum.FinishLog)
	if sum.ErrorLog != "" {
		ev = ev.Str("error_log", sum.ErrorLog)
	}
	ev.Msg("redrive finished")
	return endOfRun(log, runErr, sum.Failed, sum.Interrupted, sum.ErrorLog, "%d message(s) left in the queue; see the error log")
}
