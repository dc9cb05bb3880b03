package sink

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"
)

// DeadLetter is a record or document that cannot be loaded, kept with why.
type DeadLetter struct {
	Time time.Time
	// Stage that gave up: a stage name (decode, normalize, …) or "opensearch".
	Stage   string
	Reason  string
	LogType string
	Bucket  string
	Key     string
	Ordinal int64
	// Index and ID of the document when it got that far.
	Index string
	ID    string
	// Raw is the original record (or the rejected document).
	Raw []byte
}

// DeadLetters stores dead letters durably.
type DeadLetters interface {
	Put(ctx context.Context, dls []DeadLetter) error
}

// maxRawInDeadLetter keeps a dead letter under Lucene's term limit; the rest
// of a huge record is still in S3 at bucket/key/ordinal.
const maxRawInDeadLetter = 32000

// IndexDeadLetters writes dead letters to a monthly OpenSearch index
// (<Prefix>-YYYY.MM), one document each, with an _id derived from where the
// record came from so a replay does not duplicate them.
type IndexDeadLetters struct {
	Sink   Sink
	Prefix string
	Policy RetryPolicy
}

// Put writes dls; it returns once all are durable or rejected (an error
// then names how many the index refused).
func (d *IndexDeadLetters) Put(ctx context.Context, dls []DeadLetter) error {
	if len(dls) == 0 {
		return nil
	}
	prefix := d.Prefix
	if prefix == "" {
		prefix = "siemstream-deadletter"
	}
	docs := make([]Doc, len(dls))
	for i := range dls {
		body, err := DeadLetterJSON(&dls[i])
		if err != nil {
			return err
		}
		t := dls[i].Time.UTC()
		docs[i] = Doc{
			Index: prefix + "-" + t.Format("2006.01"),
			ID:    DeadLetterID(&dls[i]),
			Body:  body,
		}
	}
	res := make([]Result, len(docs))
	st, err := Deliver(ctx, d.Sink, docs, res, d.Policy)
	if err != nil {
		return fmt.Errorf("dead letters: %w", err)
	}
	if st.Rejected > 0 {
		for i := range res {
			if res[i].Outcome == Rejected {
				return fmt.Errorf("dead letters: %d of %d refused by the index, first: %s", st.Rejected, len(dls), res[i].Reason)
			}
		}
	}
	return nil
}

// DeadLetterID is stable for one record of one object at one stage.
func DeadLetterID(dl *DeadLetter) string {
	h := md5.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%d\x00%s", dl.Stage, dl.Bucket, dl.Key, dl.Ordinal, dl.ID)
	return hex.EncodeToString(h.Sum(nil))
}

// DeadLetterJSON renders a dead letter as a document. Raw bytes that are not
// UTF-8 are kept base64-encoded in raw_base64 so nothing is altered.
func DeadLetterJSON(dl *DeadLetter) ([]byte, error) {
	raw := dl.Raw
	truncated := false
	if len(raw) > maxRawInDeadLetter {
		raw, truncated = raw[:maxRawInDeadLetter], true
	}
	m := map[string]any{
		"@timestamp": dl.Time.UTC().Format(time.RFC3339Nano),
		"stage":      dl.Stage,
		"reason":     dl.Reason,
		"log_type":   dl.LogType,
		"s3":         map[string]any{"bucket": dl.Bucket, "key": dl.Key},
		"ordinal":    dl.Ordinal,
		"raw_bytes":  len(dl.Raw),
	}
	if dl.Index != "" {
		m["target"] = map[string]any{"index": dl.Index, "id": dl.ID}
	}
	if utf8.Valid(raw) {
		m["raw"] = string(raw)
	} else {
		m["raw_base64"] = base64.StdEncoding.EncodeToString(raw)
	}
	if truncated {
		m["raw_truncated"] = true
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("dead letter %s/%s#%s: %w", dl.Bucket, dl.Key, strconv.FormatInt(dl.Ordinal, 10), err)
	}
	return b, nil
}
