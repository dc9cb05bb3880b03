package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/siemstream/siemstream/consumer/sink"
	"github.com/siemstream/siemstream/internal/awsconf"
	"github.com/siemstream/siemstream/internal/deadletter"
	"github.com/siemstream/siemstream/producer"
	"github.com/siemstream/siemstream/producer/pack"
)

const deadlettersUsage = `usage: siemstream deadletters list    [--since T] [--stage S] [--log-type T] [flags]
       siemstream deadletters redrive [--since T] [--stage S] [--log-type T] [--dry-run] [flags]

list prints every dead letter (the producer's, under s3://<dead-letter-bucket>/<prefix>producer/,
and the consumer's, in the <dead-letter-index>-* indices) as JSON lines with its exact raw bytes.
redrive sends their raw records through the stream again (after a fix: a corrected user.ini, a
mapping change) and removes each one once the stream accepted it.
`

func runDeadletters(ctx context.Context, args []string) error {
	if len(args) == 0 || (args[0] != "list" && args[0] != "redrive") {
		fmt.Fprint(os.Stderr, deadlettersUsage)
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			return nil
		}
		return exitError(2)
	}
	sub := args[0]
	f := newFlags("deadletters "+sub, "[flags]")
	var v dlFlags
	v.since = f.str("since", "", "", "only dead letters refused at or after this time: RFC 3339, a date (2006-01-02) or a duration back from now (90m, 36h, 7d)")
	v.stage = f.str("stage", "", "", "only this stage (split, pack, object, wire, decode, normalize, …, panic, opensearch)")
	v.logType = f.str("log-type", "", "", "only this log type")
	v.store = f.str("store", "", "all", "which stores: all, s3 (the producer's) or index (the consumer's)")
	v.dlIndex = f.str("dead-letter-index", "SIEM_DEAD_LETTER_INDEX", "siemstream-deadletter", "dead-letter index prefix (as the consumer's)")
	v.suffix = f.str("index-suffix", "SIEM_INDEX_SUFFIX", "", "index suffix of the consumer fleet (as its --index-suffix)")
	var lf *loaderFlagValues
	var dryRun *bool
	if sub == "redrive" {
		lf = loaderFlags(f)
		dryRun = f.boolean("dry-run", "", false, "say what would be re-driven; send and remove nothing")
	} else {
		d := producer.DefaultConfig()
		lf = &loaderFlagValues{
			region:   f.str("region", "AWS_REGION", "us-east-1", "AWS region"),
			dlBucket: f.str("dead-letter-bucket", "SIEM_DEAD_LETTER_BUCKET", "", "bucket(s) of the producer's dead letters, comma-separated"),
			dlPrefix: f.str("dead-letter-prefix", "SIEM_DEAD_LETTER_PREFIX", d.DeadLetterPrefix, "key prefix of the dead letters"),
		}
	}
	// The same connection flags (auth, SigV4, CA, …) as consumer and
	// replay; after the loader's, which define --region.
	v.os = openSearchFlags(f)
	if err := f.Parse(args[1:]); err != nil {
		return err
	}
	if f.NArg() > 0 {
		f.Usage()
		return exitError(2)
	}
	log, err := newLogger(*f.logFormat, *f.logLevel)
	if err != nil {
		return err
	}
	since, err := deadletter.ParseSince(*v.since, time.Now())
	if err != nil {
		return err
	}
	st := deadletter.Stores{Which: *v.store, Prefix: *lf.dlPrefix, IndexPattern: *v.dlIndex + "-*" + *v.suffix,
		Filter: deadletter.Filter{Since: since, Stage: *v.stage, LogType: *v.logType}}
	switch st.Which {
	case "all", "s3", "index":
	default:
		return fmt.Errorf("--store %q: want all, s3 or index", st.Which)
	}
	// The producer's default dead-letter bucket is each object's own
	// bucket; the log bucket of the environment is the usual one.
	for _, b := range strings.Split(*lf.dlBucket, ",") {
		if b = strings.TrimSpace(b); b != "" {
			st.Buckets = append(st.Buckets, b)
		}
	}
	if len(st.Buckets) == 0 && os.Getenv("SIEM_LOG_BUCKET") != "" {
		st.Buckets = []string{os.Getenv("SIEM_LOG_BUCKET")}
	}
	if st.Which != "index" && len(st.Buckets) == 0 {
		log.Warn().Msg("no --dead-letter-bucket (nor SIEM_LOG_BUCKET): the producer's dead letters in S3 are not read")
	}
	awsCfg, err := awsconf.Load(ctx, *lf.region)
	if err != nil {
		return err
	}
	s3c := s3.NewFromConfig(awsCfg, awsconf.S3Options)
	st.S3 = s3c
	if st.Which != "s3" {
		sc := sink.DefaultOpenSearchConfig()
		c, err := v.os.Client(ctx, log)
		if err != nil {
			return err
		}
		sc.Client = c
		osc, err := sink.NewOpenSearch(sc)
		if err != nil {
			return err
		}
		st.Index = osc.Client()
	}
	if sub == "list" {
		return st.List(ctx, log, os.Stdout)
	}
	// No metrics endpoint for this one-off command.
	p, err := lf.producer(awsCfg, s3c, nil, opsOff(ctx, log), log)
	if err != nil {
		return err
	}
	send := func(ctx context.Context, o deadletter.Object, recs []deadletter.Resend) ([]int64, map[int64]string, error) {
		rr := make([]producer.ResendRecord, len(recs))
		for i, r := range recs {
			rr[i] = producer.ResendRecord{Ordinal: r.Ordinal, Raw: r.Raw}
		}
		res, err := p.Resend(ctx, pack.Object{LogType: o.LogType, Bucket: o.Bucket, Key: o.Key, Context: o.Context}, rr)
		return res.Sent, res.Refused, err
	}
	err = st.Redrive(ctx, log, send, *dryRun)
	if errors.Is(err, deadletter.ErrRedriveFailed) {
		return exitError(1) // the summary line says it
	}
	return err
}

type dlFlags struct {
	since, stage, logType, store, dlIndex, suffix *string
	os                                            *openSearchFlagValues
}
