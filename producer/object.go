package producer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/siemstream/siemstream/internal/deadletter"
	"github.com/siemstream/siemstream/internal/obs"
	"github.com/siemstream/siemstream/producer/notify"
	"github.com/siemstream/siemstream/producer/pack"
	"github.com/siemstream/siemstream/producer/split"
)

// Outcome says what LoadObject did with an object.
type Outcome string

const (
	Loaded   Outcome = "loaded"   // every record sent (bad ones quarantined)
	Unknown  Outcome = "unknown"  // key matched no log type
	Ignored  Outcome = "ignored"  // s3_key_ignored, a folder key, or our own dead letters
	Corrupt  Outcome = "corrupt"  // content broken part-way: what was readable was sent, the object quarantined
	Rejected Outcome = "rejected" // the log type cannot be read by the producer
)

// ObjectResult describes one object's load.
type ObjectResult struct {
	Outcome        Outcome
	LogType        string
	Compression    split.Compression
	Records        int64 // raw records sent
	Quarantined    int64 // raw records quarantined
	Bytes          int64 // decompressed bytes read
	KinesisRecords int   // PutRecords entries written
	Reason         string
}

// loadObject streams one object into the stream. A nil error means the
// object is done with (loaded, or deliberately skipped or quarantined): its
// notification may be deleted. An error means try again later.
func (p *Producer) loadObject(ctx context.Context, o notify.Object) (ObjectResult, error) {
	var res ObjectResult
	if strings.HasPrefix(o.Key, p.cfg.DeadLetterPrefix) || strings.HasSuffix(o.Key, "/") {
		res.Outcome = Ignored
		p.counts.Add("ignored", obs.Counts{Ignored: 1})
		return res, nil
	}
	lt, ignored := p.reg.Detect(o.Key)
	if lt == nil {
		res.Outcome = Unknown
		p.counts.Add("unknown", obs.Counts{Unknown: 1})
		p.log.Warn().Str("s3_bucket", o.Bucket).Str("s3_key", o.Key).Str("log_type", "unknown").Msg("unknown log type: no s3_key pattern matches this key; object skipped")
		return res, nil
	}
	res.LogType = lt.Name
	log := p.log.With().Str("s3_bucket", o.Bucket).Str("s3_key", o.Key).Str("log_type", lt.Name).Str("account", p.accountOf(o)).Logger()
	if ignored {
		res.Outcome = Ignored
		p.counts.Add(lt.Name, obs.Counts{Ignored: 1})
		log.Info().Msg("object skipped: s3_key_ignored matches")
		return res, nil
	}
	format, err := FormatFor(lt)
	if err != nil {
		res.Outcome, res.Reason = Rejected, err.Error()
		p.counts.Add(lt.Name, obs.Counts{Failed: 1})
		log.Error().Err(err).Str("error_kind", "unsupported_format").Msg("object skipped")
		return res, p.quarantineObject(ctx, o, lt.Name, err.Error())
	}

	obj, err := p.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: &o.Bucket, Key: &o.Key})
	if err != nil {
		return res, fmt.Errorf("get s3://%s/%s: %w", o.Bucket, o.Key, err)
	}
	defer obj.Body.Close()
	counted := &countingReader{r: obj.Body}
	body, comp, err := split.OpenContext(ctx, counted, p.cfg.Limits.OpenOptions(lt.FileFormat, o.Key))
	res.Compression = comp
	if err != nil {
		if ctx.Err() != nil || !isContentError(err) {
			return res, fmt.Errorf("open s3://%s/%s: %w", o.Bucket, o.Key, err)
		}
		res.Outcome, res.Reason = Corrupt, err.Error()
		p.counts.Add(lt.Name, obs.Counts{Objects: 1, Failed: 1})
		log.Error().Err(err).Str("error_kind", "object_corrupt").Msg("object cannot be read; quarantined")
		return res, p.quarantineObject(ctx, o, lt.Name, err.Error())
	}
	defer body.Close()
	plain := &countingReader{r: body}
	// The splitter returns records up to keepRecordBytes, so one longer
	// than MaxRecordBytes is still quarantined whole, byte for byte.
	sp, err := split.New(plain, format, p.cfg.Limits.SplitOptions(max(p.cfg.MaxRecordBytes, keepRecordBytes)))
	if err != nil {
		return res, fmt.Errorf("split s3://%s/%s: %w", o.Bucket, o.Key, err)
	}

	put := newPutter(ctx, p, log)
	packer, err := pack.New(p.cfg.packConfig(), put.add)
	if err != nil {
		return res, err
	}
	dl := p.newDeadLetters(o, lt.Name)
	var fatal error
	if _, err := sp.Header(); err != nil {
		fatal = err
	}
	if err := packer.Begin(pack.Object{LogType: lt.Name, Bucket: o.Bucket, Key: o.Key, Context: sp.Context()}); err != nil {
		return res, fmt.Errorf("pack s3://%s/%s: %w", o.Bucket, o.Key, err)
	}
	for fatal == nil {
		rec, ord, err := sp.Next()
		if err == io.EOF {
			break
		}
		var re *split.RecordError
		if errors.As(err, &re) {
			reason := re.Err.Error()
			if rec == nil {
				// Records the splitter refuses after reading them (too deep,
				// a bad FireLens line) carry their bytes in the error.
				rec = re.Raw
			}
			switch {
			case errors.Is(re.Err, split.ErrRecordTooLarge):
				reason = fmt.Sprintf("%s: longer than %d bytes, the raw bytes are not kept; it is record %d of the source object", reason, max(p.cfg.MaxRecordBytes, keepRecordBytes), re.Ordinal)
			case rec == nil:
				// The splitter streams past a record it cannot read
				// without buffering it: the source object holds it.
				reason = fmt.Sprintf("%s (raw bytes not captured by the splitter; it is record %d of the source object)", reason, re.Ordinal)
			}
			if err := dl.add(ctx, deadletter.StageSplit, re.Ordinal, reason, rec, sp.Context()); err != nil {
				return res, err
			}
			continue
		}
		if err != nil {
			fatal = err
			break
		}
		if len(rec) > p.cfg.MaxRecordBytes {
			reason := fmt.Sprintf("%s: %d bytes, longer than max-record-bytes %d", split.ErrRecordTooLarge, len(rec), p.cfg.MaxRecordBytes)
			if err := dl.add(ctx, deadletter.StageSplit, ord, reason, rec, sp.Context()); err != nil {
				return res, err
			}
			continue
		}
		if err := packer.Add(rec, ord); err != nil {
			var pe *pack.RecordError
			if errors.As(err, &pe) {
				if err := dl.add(ctx, deadletter.StagePack, pe.Ordinal, pe.Err.Error(), rec, sp.Context()); err != nil {
					return res, err
				}
				continue
			}
			return res, fmt.Errorf("pack s3://%s/%s: %w", o.Bucket, o.Key, err)
		}
	}
	if d := sp.Dropped(); d > 0 {
		// es-loader drops lines before the first multiline_firstline match
		// silently; we drop them too but say so.
		log.Warn().Int64("lines", d).Msg("lines before the first record start (multiline_firstline) were dropped")
	}
	if err := packer.Flush(); err != nil {
		return res, fmt.Errorf("pack s3://%s/%s: %w", o.Bucket, o.Key, err)
	}
	if err := put.flush(); err != nil {
		return res, err
	}
	st := packer.Stats()
	res.Records, res.Bytes, res.KinesisRecords = st.Records, plain.n, put.entries
	res.Quarantined = dl.w.Records()
	res.Outcome = Loaded
	if fatal != nil {
		if ctx.Err() != nil || !isContentError(fatal) {
			return res, fmt.Errorf("read s3://%s/%s after %d records: %w", o.Bucket, o.Key, sp.Records(), fatal)
		}
		res.Outcome, res.Reason = Corrupt, fatal.Error()
		if err := dl.add(ctx, deadletter.StageObject, sp.Ordinal()+1, "object unreadable from here on: "+fatal.Error(), nil, sp.Context()); err != nil {
			return res, err
		}
		log.Error().Err(fatal).Str("error_kind", "object_corrupt").Int64("records_loaded", res.Records).Msg("object is corrupt part-way; records before the damage were loaded, the rest quarantined")
	}
	if err := dl.close(ctx); err != nil {
		return res, err
	}
	c := obs.Counts{Objects: 1, Events: res.Records, Failed: res.Quarantined, Bytes: res.Bytes}
	p.counts.Add(lt.Name, c)
	log.Debug().Int64("records", res.Records).Int("kinesis_records", res.KinesisRecords).Int64("quarantined", res.Quarantined).
		Str("compression", string(comp)).Msg("object loaded")
	return res, nil
}

// isContentError tells broken content (quarantine, do not retry) from I/O
// trouble (retry).
func isContentError(err error) bool { return split.IsContentError(err) }

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += int64(n)
	return n, err
}

// ---- dead letters (quarantine) ----

// keepRecordBytes is the longest record the splitter hands back: records
// longer than MaxRecordBytes (they cannot go to Kinesis) but not longer
// than this are quarantined with their exact bytes; longer ones are
// quarantined by ordinal (the source object holds them). It bounds a
// worker's memory for one record.
const keepRecordBytes = 8 << 20

// objectDeadLetters streams one object's quarantined records to S3 in
// bounded parts (deadletter.PartWriter): memory stays bounded however many
// records of the object are bad.
type objectDeadLetters struct {
	p       *Producer
	o       notify.Object
	logType string
	w       deadletter.PartWriter
	rec     deadletter.Record
}

func (p *Producer) newDeadLetters(o notify.Object, logType string) *objectDeadLetters {
	d := &objectDeadLetters{p: p, o: o, logType: logType}
	d.w = deadletter.PartWriter{S3: p.s3, Bucket: p.dlBucket(o), Folder: deadletter.ObjectFolder(p.cfg.DeadLetterPrefix, o.Bucket, o.Key),
		PartBytes: p.cfg.DeadLetterPartBytes}
	return d
}

func (d *objectDeadLetters) add(ctx context.Context, stage string, ordinal int64, reason string, raw, context []byte) error {
	d.rec = deadletter.Record{Time: time.Now().UTC(), Stage: stage, Reason: reason, LogType: d.logType,
		Bucket: d.o.Bucket, Key: d.o.Key, Ordinal: ordinal, Raw: raw, Context: context}
	if raw == nil {
		d.rec.Object = stage == deadletter.StageObject
	}
	return d.w.Add(ctx, &d.rec)
}

func (d *objectDeadLetters) close(ctx context.Context) error {
	if err := d.w.Close(ctx); err != nil {
		return err
	}
	if n := d.w.Records(); n > 0 {
		d.p.log.Warn().Str("s3_bucket", d.o.Bucket).Str("s3_key", d.o.Key).Str("log_type", d.logType).Str("error_kind", "records_quarantined").Int64("records", n).Int("parts", d.w.Parts()).
			Str("dead_letters", "s3://"+d.w.Bucket+"/"+d.w.Folder).Msg("records quarantined")
	}
	return nil
}

func (p *Producer) dlBucket(o notify.Object) string {
	if p.cfg.DeadLetterBucket != "" {
		return p.cfg.DeadLetterBucket
	}
	return o.Bucket
}

// quarantineObject records that a whole object could not be loaded (its
// bytes are the object itself).
func (p *Producer) quarantineObject(ctx context.Context, o notify.Object, logType, reason string) error {
	d := p.newDeadLetters(o, logType)
	d.rec = deadletter.Record{Time: time.Now().UTC(), Stage: deadletter.StageObject, Reason: "whole object: " + reason,
		LogType: logType, Bucket: o.Bucket, Key: o.Key, Object: true}
	if err := d.w.Add(ctx, &d.rec); err != nil {
		return err
	}
	return d.close(ctx)
}
