package deadletter

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/rs/zerolog"

	"github.com/siemstream/siemstream/internal/pyjson"
)

// Stores are the dead-letter stores `siemstream deadletters` reads: the
// producer's parts in S3 and the consumer's index.
type Stores struct {
	// Which: "all", "s3" or "index".
	Which string
	// S3 reads the parts in Buckets under Prefix (and raw_ref objects).
	S3      S3API
	Buckets []string
	Prefix  string
	// Index reads IndexPattern (e.g. siemstream-deadletter-*).
	Index        Performer
	IndexPattern string
	Filter       Filter
}

// Object is the origin a re-sent record is packed with.
type Object struct {
	LogType, Bucket, Key string
	Context              []byte
}

// Resend is one raw record to send again with its original ordinal.
type Resend struct {
	Ordinal int64
	Raw     []byte
}

// Sender writes records of one object back into the stream and says which
// ordinals were accepted and which cannot be sent (and why); a nil error
// means every other one was accepted.
type Sender func(ctx context.Context, obj Object, recs []Resend) (sent []int64, refused map[int64]string, err error)

// ErrRedriveFailed: some dead letters could not be read; the rest was
// re-driven.
var ErrRedriveFailed = errors.New("some dead letters could not be re-driven (see the log)")

// Entry is one dead letter from either store.
type Entry struct {
	Rec *Record
	// Store says where it is: s3://bucket/part#line or index/_id.
	Store string
	// inexact: written by an older version that could alter or cut the
	// raw bytes; listed, never re-driven.
	inexact bool
	s3      *S3Entry
	ix      *IndexEntry
}

// walk calls page with the dead letters that pass the filter, a bounded page
// at a time: one S3 part object, or one scroll page of the index.
func (v *Stores) Walk(ctx context.Context, log zerolog.Logger, page func([]Entry) error) (bad int, err error) {
	if v.Which != "index" {
		for _, b := range v.Buckets {
			var cur []Entry
			var curKey string
			flush := func() error {
				if len(cur) == 0 {
					return nil
				}
				err := page(cur)
				cur = nil
				return err
			}
			err := ListS3(ctx, v.S3, b, v.Prefix, func(e *S3Entry, derr error) error {
				if derr != nil {
					bad++
					log.Warn().Err(derr).Str("object", "s3://"+e.Bucket+"/"+e.Key).Int("line", e.Line).Msg("dead letter read with a problem")
					if !errors.Is(derr, ErrTruncated) {
						return nil
					}
				}
				if e.Key != curKey {
					if err := flush(); err != nil {
						return err
					}
					curKey = e.Key
				}
				if v.Filter.Match(&e.Record) {
					cur = append(cur, Entry{Rec: &e.Record, s3: e, Store: fmt.Sprintf("s3://%s/%s#%d", e.Bucket, e.Key, e.Line), inexact: derr != nil})
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
	if v.Which != "s3" {
		err := ListIndex(ctx, v.Index, v.IndexPattern, v.Filter, func(p []IndexEntry, errs []error) error {
			for _, e := range errs {
				bad++
				log.Warn().Err(e).Msg("dead letter read with a problem")
			}
			es := make([]Entry, len(p))
			for i := range p {
				es[i] = Entry{Rec: &p[i].Record, ix: &p[i], Store: p[i].Index + "/" + p[i].DocID}
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
func (v *Stores) resolve(ctx context.Context, r *Record) error {
	if r.RawRef == "" || r.Raw != nil {
		return nil
	}
	raw, err := FetchRaw(ctx, v.S3, r)
	if err != nil {
		return err
	}
	r.Raw = raw
	return nil
}

func (v *Stores) List(ctx context.Context, log zerolog.Logger, w io.Writer) error {
	out := bufio.NewWriterSize(w, 1<<16)
	var n, unresolved int
	bad, err := v.Walk(ctx, log, func(es []Entry) error {
		for _, e := range es {
			if err := v.resolve(ctx, e.Rec); err != nil {
				unresolved++
				log.Warn().Err(err).Str("store", e.Store).Msg("raw bytes not found; listed with raw_ref only")
			}
			b, err := e.Rec.MarshalJSON()
			if err != nil {
				return err
			}
			// {"store":"…", then the record's own fields.
			line := pyjson.AppendQuotedString(append(make([]byte, 0, len(b)+len(e.Store)+16), `{"store":`...), e.Store)
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

// Redrive re-sends the raw records of the matching dead letters through the
// stream with send, a page at a time, and removes each page's sent records
// afterwards. It returns ErrRedriveFailed when some could not be read.
func (v *Stores) Redrive(ctx context.Context, log zerolog.Logger, send Sender, dryRun bool) error {
	var st struct{ matched, sent, skipped, refused, removed, kept, failed int }
	bad, err := v.Walk(ctx, log, func(es []Entry) error {
		st.matched += len(es)
		// Group by object (log type, bucket, key, context): one Resend each.
		type group struct {
			obj     Object
			recs    []Resend
			entries map[int64][]Entry
		}
		var groups []*group
		byKey := map[string]*group{}
		for _, e := range es {
			r := e.Rec
			if err := v.resolve(ctx, r); err != nil {
				st.failed++
				log.Error().Err(err).Str("store", e.Store).Msg("raw bytes not found; not re-driven")
				continue
			}
			switch {
			case e.inexact:
				st.skipped++
				log.Info().Str("store", e.Store).Str("origin", r.Where()).Msg("written by an older version that may have altered its raw bytes: not re-driven")
				continue
			case r.Raw == nil:
				st.skipped++
				log.Info().Str("store", e.Store).Str("stage", r.Stage).Str("origin", r.Where()).
					Msg("no raw record kept (a whole object, or a record longer than the producer keeps): load the object again with `siemstream backfill`")
				continue
			case r.LogType == "" || r.Stage == StageWire:
				st.skipped++
				log.Info().Str("store", e.Store).Str("origin", r.Where()).Msg("not a record of a known log type (a Kinesis record that is not a chunk): not re-driven")
				continue
			}
			k := r.LogType + "\x00" + r.Bucket + "\x00" + r.Key + "\x00" + string(r.Context)
			g := byKey[k]
			if g == nil {
				g = &group{obj: Object{LogType: r.LogType, Bucket: r.Bucket, Key: r.Key, Context: r.Context}, entries: map[int64][]Entry{}}
				byKey[k] = g
				groups = append(groups, g)
			}
			g.recs = append(g.recs, Resend{Ordinal: r.Ordinal, Raw: r.Raw})
			g.entries[r.Ordinal] = append(g.entries[r.Ordinal], e)
		}
		dropLines := map[string]map[int]bool{} // part object → lines to remove
		var sentIx []*IndexEntry
		for _, g := range groups {
			if dryRun {
				st.sent += len(g.entries)
				continue
			}
			sent, refused, err := send(ctx, g.obj, g.recs)
			if err != nil {
				return fmt.Errorf("redrive: %w", err)
			}
			for ord, why := range refused {
				st.refused += len(g.entries[ord])
				log.Warn().Str("origin", fmt.Sprintf("s3://%s/%s#%d", g.obj.Bucket, g.obj.Key, ord)).Str("reason", why).Msg("record cannot be re-driven through the stream; kept")
			}
			for _, ord := range sent {
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
			b, k, _ := ParseS3URL(pk)
			if err := RewritePart(ctx, v.S3, b, k, lines); err != nil {
				return fmt.Errorf("redrive: records were sent but not removed (a second redrive sends them again, harmlessly): %w", err)
			}
			st.removed += len(lines)
		}
		for _, e := range sentIx {
			ok, err := DeleteIndexed(ctx, v.Index, e)
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
		return ErrRedriveFailed
	}
	return nil
}
