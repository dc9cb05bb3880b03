package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/rs/zerolog"

	"github.com/siemstream/siemstream/consumer/sink"
	"github.com/siemstream/siemstream/internal/awsconf"
	"github.com/siemstream/siemstream/internal/deadletter"
	"github.com/siemstream/siemstream/internal/pyjson"
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
	v.osURL = f.str("opensearch-url", "OPENSEARCH_URL", "http://127.0.0.1:9200", "OpenSearch URL(s), comma-separated")
	v.osUser = f.str("opensearch-user", "OPENSEARCH_USER", "", "OpenSearch basic-auth user")
	v.osPass = f.str("opensearch-password", "OPENSEARCH_PASSWORD", "", "OpenSearch basic-auth password")
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
	v.filter = deadletter.Filter{Since: since, Stage: *v.stage, LogType: *v.logType}
	switch *v.store {
	case "all", "s3", "index":
	default:
		return fmt.Errorf("--store %q: want all, s3 or index", *v.store)
	}
	// The producer's default dead-letter bucket is each object's own
	// bucket; the log bucket of the environment is the usual one.
	for _, b := range strings.Split(*lf.dlBucket, ",") {
		if b = strings.TrimSpace(b); b != "" {
			v.buckets = append(v.buckets, b)
		}
	}
	if len(v.buckets) == 0 && os.Getenv("SIEM_LOG_BUCKET") != "" {
		v.buckets = []string{os.Getenv("SIEM_LOG_BUCKET")}
	}
	if *v.store != "index" && len(v.buckets) == 0 {
		log.Warn().Msg("no --dead-letter-bucket (nor SIEM_LOG_BUCKET): the producer's dead letters in S3 are not read")
	}
	v.prefix = *lf.dlPrefix
	awsCfg, err := awsconf.Load(ctx, *lf.region)
	if err != nil {
		return err
	}
	v.s3 = s3.NewFromConfig(awsCfg, awsconf.S3Options)
	if *v.store != "s3" {
		sc := sink.DefaultOpenSearchConfig()
		sc.URLs, sc.Username, sc.Password = strings.Split(*v.osURL, ","), *v.osUser, *v.osPass
		os, err := sink.NewOpenSearch(sc)
		if err != nil {
			return err
		}
		v.os = os.Client()
	}
	if sub == "list" {
		return v.list(ctx, log)
	}
	p, err := lf.producer(awsCfg, v.s3, nil, log)
	if err != nil {
		return err
	}
	return v.redrive(ctx, log, p, *dryRun)
}

type dlFlags struct {
	since, stage, logType, store, dlIndex, suffix, osURL, osUser, osPass *string

	filter  deadletter.Filter
	buckets []string
	prefix  string
	s3      *s3.Client
	os      deadletter.Performer
}

func (v *dlFlags) indexPattern() string { return *v.dlIndex + "-*" + *v.suffix }

// entry is one dead letter from either store.
type entry struct {
	rec   *deadletter.Record
	store string // s3://bucket/part#line or index/_id
	// inexact: written by an older version that could alter or cut the
	// raw bytes; listed, never re-driven.
	inexact bool
	s3      *deadletter.S3Entry
	ix      *deadletter.IndexEntry
}

// walk calls page with the dead letters that pass the filter, a bounded page
// at a time: one S3 part object, or one scroll page of the index.
func (v *dlFlags) walk(ctx context.Context, log zerolog.Logger, page func([]entry) error) (bad int, err error) {
	if *v.store != "index" {
		for _, b := range v.buckets {
			var cur []entry
			var curKey string
			flush := func() error {
				if len(cur) == 0 {
					return nil
				}
				err := page(cur)
				cur = nil
				return err
			}
			err := deadletter.ListS3(ctx, v.s3, b, v.prefix, func(e *deadletter.S3Entry, derr error) error {
				if derr != nil {
					bad++
					log.Warn().Err(derr).Str("object", "s3://"+e.Bucket+"/"+e.Key).Int("line", e.Line).Msg("dead letter read with a problem")
					if !errors.Is(derr, deadletter.ErrTruncated) {
						return nil
					}
				}
				if e.Key != curKey {
					if err := flush(); err != nil {
						return err
					}
					curKey = e.Key
				}
				if v.filter.Match(&e.Record) {
					cur = append(cur, entry{rec: &e.Record, s3: e, store: fmt.Sprintf("s3://%s/%s#%d", e.Bucket, e.Key, e.Line), inexact: derr != nil})
				}
				return nil
			})
			if err == nil {
				err = flush()
			}
			if err != nil {
				return bad, err
			}
		}
	}
	if *v.store != "s3" {
		err := deadletter.ListIndex(ctx, v.os, v.indexPattern(), v.filter, func(p []deadletter.IndexEntry, errs []error) error {
			for _, e := range errs {
				bad++
				log.Warn().Err(e).Msg("dead letter read with a problem")
			}
			es := make([]entry, len(p))
			for i := range p {
				es[i] = entry{rec: &p[i].Record, ix: &p[i], store: p[i].Index + "/" + p[i].DocID}
			}
			return page(es)
		})
		if err != nil {
			return bad, err
		}
	}
	return bad, nil
}

// resolve fills in raw bytes kept in S3 (RawRef).
func (v *dlFlags) resolve(ctx context.Context, r *deadletter.Record) error {
	if r.RawRef == "" || r.Raw != nil {
		return nil
	}
	raw, err := deadletter.FetchRaw(ctx, v.s3, r)
	if err != nil {
		return err
	}
	r.Raw = raw
	return nil
}

func (v *dlFlags) list(ctx context.Context, log zerolog.Logger) error {
	out := bufio.NewWriterSize(os.Stdout, 1<<16)
	var n, unresolved int
	bad, err := v.walk(ctx, log, func(es []entry) error {
		for _, e := range es {
			if err := v.resolve(ctx, e.rec); err != nil {
				unresolved++
				log.Warn().Err(err).Str("store", e.store).Msg("raw bytes not found; listed with raw_ref only")
			}
			b, err := e.rec.MarshalJSON()
			if err != nil {
				return err
			}
			// {"store":"…", then the record's own fields.
			line := pyjson.AppendQuotedString(append(make([]byte, 0, len(b)+len(e.store)+16), `{"store":`...), e.store)
			line = append(append(line, ','), b[1:]...)
			line = append(line, '\n')
			if _, err := out.Write(line); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if ferr := out.Flush(); err == nil {
		err = ferr
	}
	log.Info().Int("dead_letters", n).Int("unreadable", bad).Int("raw_missing", unresolved).Msg("deadletters list finished")
	return err
}

// redrive re-sends the raw records of the matching dead letters through the
// stream, a page at a time, and removes each page's sent records afterwards.
func (v *dlFlags) redrive(ctx context.Context, log zerolog.Logger, p *producer.Producer, dryRun bool) error {
	var st struct{ matched, sent, skipped, refused, removed, kept, failed int }
	bad, err := v.walk(ctx, log, func(es []entry) error {
		st.matched += len(es)
		// Group by object (log type, bucket, key, context): one Resend each.
		type group struct {
			obj     pack.Object
			recs    []producer.ResendRecord
			entries map[int64][]entry
		}
		var groups []*group
		byKey := map[string]*group{}
		for _, e := range es {
			r := e.rec
			if err := v.resolve(ctx, r); err != nil {
				st.failed++
				log.Error().Err(err).Str("store", e.store).Msg("raw bytes not found; not re-driven")
				continue
			}
			switch {
			case e.inexact:
				st.skipped++
				log.Info().Str("store", e.store).Str("origin", r.Where()).Msg("written by an older version that may have altered its raw bytes: not re-driven")
				continue
			case r.Raw == nil:
				st.skipped++
				log.Info().Str("store", e.store).Str("stage", r.Stage).Str("origin", r.Where()).
					Msg("no raw record kept (a whole object, or a record longer than the producer keeps): load the object again with `siemstream backfill`")
				continue
			case r.LogType == "" || r.Stage == deadletter.StageWire:
				st.skipped++
				log.Info().Str("store", e.store).Str("origin", r.Where()).Msg("not a record of a known log type (a Kinesis record that is not a chunk): not re-driven")
				continue
			}
			k := r.LogType + "\x00" + r.Bucket + "\x00" + r.Key + "\x00" + string(r.Context)
			g := byKey[k]
			if g == nil {
				g = &group{obj: pack.Object{LogType: r.LogType, Bucket: r.Bucket, Key: r.Key, Context: r.Context}, entries: map[int64][]entry{}}
				byKey[k] = g
				groups = append(groups, g)
			}
			g.recs = append(g.recs, producer.ResendRecord{Ordinal: r.Ordinal, Raw: r.Raw})
			g.entries[r.Ordinal] = append(g.entries[r.Ordinal], e)
		}
		dropLines := map[string]map[int]bool{} // part object → lines to remove
		var sentIx []*deadletter.IndexEntry
		for _, g := range groups {
			if dryRun {
				st.sent += len(g.entries)
				continue
			}
			res, err := p.Resend(ctx, g.obj, g.recs)
			if err != nil {
				return fmt.Errorf("redrive: %w", err)
			}
			for ord, why := range res.Refused {
				st.refused += len(g.entries[ord])
				log.Warn().Str("origin", fmt.Sprintf("s3://%s/%s#%d", g.obj.Bucket, g.obj.Key, ord)).Str("reason", why).Msg("record cannot be re-driven through the stream; kept")
			}
			for _, ord := range res.Sent {
				for _, e := range g.entries[ord] {
					st.sent++
					if e.s3 != nil {
						pk := "s3://" + e.s3.Bucket + "/" + e.s3.Key
						if dropLines[pk] == nil {
							dropLines[pk] = map[int]bool{}
						}
						dropLines[pk][e.s3.Line] = true
					} else {
						sentIx = append(sentIx, e.ix)
					}
				}
			}
		}
		// Only now, with every record of the page accepted by the stream,
		// remove them from the dead letters.
		for pk, lines := range dropLines {
			b, k, _ := deadletter.ParseS3URL(pk)
			if err := deadletter.RewritePart(ctx, v.s3, b, k, lines); err != nil {
				return fmt.Errorf("redrive: records were sent but not removed (a second redrive sends them again, harmlessly): %w", err)
			}
			st.removed += len(lines)
		}
		for _, e := range sentIx {
			ok, err := deadletter.DeleteIndexed(ctx, v.os, e)
			if err != nil {
				return fmt.Errorf("redrive: records were sent but not removed (a second redrive sends them again, harmlessly): %w", err)
			}
			if ok {
				st.removed++
			} else {
				st.kept++ // written again meanwhile (refused again): keep the new one
			}
		}
		log.Info().Int("matched", st.matched).Int("sent", st.sent).Int("skipped", st.skipped).Int("refused", st.refused).
			Int("removed", st.removed).Msg("redrive progress")
		return nil
	})
	ev := log.Info()
	if err != nil || st.failed > 0 {
		ev = log.Error().Err(err)
	}
	ev.Bool("dry_run", dryRun).Int("matched", st.matched).Int("sent", st.sent).Int("skipped", st.skipped).Int("refused", st.refused).
		Int("removed", st.removed).Int("kept", st.kept).Int("failed", st.failed).Int("unreadable", bad).Msg("deadletters redrive finished")
	if err != nil {
		return err
	}
	if st.failed > 0 {
		return exitError(1)
	}
	return nil
}
