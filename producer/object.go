package producer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

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
	log := p.log.With().Str("s3_bucket", o.Bucket).Str("s3_key", o.Key).Str("log_type", lt.Name).Logger()
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
	body, comp, err := split.Open(counted)
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
	sp, err := split.New(plain, format, split.Options{MaxRecordBytes: p.cfg.MaxRecordBytes})
	if err != nil {
		return res, fmt.Errorf("split s3://%s/%s: %w", o.Bucket, o.Key, err)
	}

	put := newPutter(ctx, p, log)
	packer, err := pack.New(pack.DefaultConfig(), put.add)
	if err != nil {
		return res, err
	}
	var dl deadLetterFile
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
			dl.add(re.Ordinal, re.Err.Error(), rec)
			continue
		}
		if err != nil {
			fatal = err
			break
		}
		if err := packer.Add(rec, ord); err != nil {
			var pe *pack.RecordError
			if errors.As(err, &pe) {
				dl.add(pe.Ordinal, pe.Err.Error(), rec)
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
	res.Quarantined = int64(len(dl.lines))
	res.Outcome = Loaded
	if fatal != nil {
		if ctx.Err() != nil || !isContentError(fatal) {
			return res, fmt.Errorf("read s3://%s/%s after %d records: %w", o.Bucket, o.Key, sp.Records(), fatal)
		}
		res.Outcome, res.Reason = Corrupt, fatal.Error()
		dl.add(sp.Ordinal()+1, "object unreadable from here on: "+fatal.Error(), nil)
		log.Error().Err(fatal).Str("error_kind", "object_corrupt").Int64("records_loaded", res.Records).Msg("object is corrupt part-way; records before the damage were loaded, the rest quarantined")
	}
	if err := p.writeDeadLetters(ctx, o, lt.Name, &dl); err != nil {
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

type deadLetterFile struct {
	lines [][]byte
}

func (d *deadLetterFile) add(ordinal int64, reason string, raw []byte) {
	const keep = 64 << 10
	truncated := len(raw) > keep
	if truncated {
		raw = raw[:keep]
	}
	b, _ := json.Marshal(map[string]any{"ordinal": ordinal, "reason": reason, "raw": string(raw), "raw_truncated": truncated})
	d.lines = append(d.lines, b)
}

func (p *Producer) dlBucket(o notify.Object) string {
	if p.cfg.DeadLetterBucket != "" {
		return p.cfg.DeadLetterBucket
	}
	return o.Bucket
}

// writeDeadLetters stores an object's quarantined records as one JSON-lines
// object at <prefix>producer/<bucket>/<key>.jsonl.
func (p *Producer) writeDeadLetters(ctx context.Context, o notify.Object, logType string, d *deadLetterFile) error {
	if len(d.lines) == 0 {
		return nil
	}
	key := p.cfg.DeadLetterPrefix + "producer/" + o.Bucket + "/" + o.Key + ".jsonl"
	head, _ := json.Marshal(map[string]any{"bucket": o.Bucket, "key": o.Key, "log_type": logType, "time": time.Now().UTC().Format(time.RFC3339)})
	body := append(append(head, '\n'), bytes.Join(d.lines, []byte("\n"))...)
	body = append(body, '\n')
	bucket := p.dlBucket(o)
	if _, err := p.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: &key, Body: bytes.NewReader(body), ContentType: aws.String("application/x-ndjson")}); err != nil {
		return fmt.Errorf("write dead letters s3://%s/%s: %w", bucket, key, err)
	}
	p.log.Warn().Str("s3_bucket", o.Bucket).Str("s3_key", o.Key).Str("log_type", logType).Str("error_kind", "records_quarantined").Int("records", len(d.lines)).Str("dead_letters", "s3://"+bucket+"/"+key).
		Msg("records quarantined")
	return nil
}

func (p *Producer) quarantineObject(ctx context.Context, o notify.Object, logType, reason string) error {
	var d deadLetterFile
	d.add(0, "whole object: "+reason, nil)
	return p.writeDeadLetters(ctx, o, logType, &d)
}
