// Package deadletter is the one record type for what siemstream could not
// load, used by the producer (records the splitter or packer refused, whole
// objects it could not read) and the consumer (records a stage failed,
// documents OpenSearch rejected), and the stores that keep them:
//
//   - the producer writes JSON lines to S3, in bounded part objects under
//     <prefix>producer/<bucket>/<key>/part-NNNNN.jsonl (PartWriter);
//   - the consumer writes one document per record to the monthly
//     <index>-YYYY.MM index (consumer/sink), and puts raw bytes too large
//     for a document under <prefix>consumer/… in S3 (PutRaw), the document
//     pointing to them (RawRef).
//
// Both stores hold the same JSON (Record.AppendJSON): where the record came
// from, the stage that gave up, why, and the raw bytes exactly: as a JSON
// string when they are valid UTF-8 (raw), base64 otherwise (raw_base64),
// never truncated, with their length and SHA-256. `siemstream deadletters`
// lists both stores and re-drives records through the stream.
package deadletter

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"
)

// Stages named by the loader itself (the consumer's stages use their own
// names: decode, normalize, …).
const (
	StageSplit      = "split"      // producer: the splitter refused the record
	StagePack       = "pack"       // producer: the record cannot be packed (too large)
	StageObject     = "object"     // producer: the whole object (unreadable, unsupported type)
	StageWire       = "wire"       // consumer: the Kinesis record is not a valid chunk
	StagePanic      = "panic"      // consumer: a stage panicked on this record
	StageOpenSearch = "opensearch" // consumer: OpenSearch rejected the document
)

// Record is one thing that could not be loaded, kept with why and where it
// came from.
type Record struct {
	// Time the record was refused.
	Time time.Time
	// Stage that gave up (see the Stage constants, or a stage's name).
	Stage   string
	Reason  string
	LogType string
	// Origin in S3: the object and the record's 1-based ordinal in it (0
	// for a whole object).
	Bucket  string
	Key     string
	Ordinal int64
	// Origin in the stream (consumer side): shard, sequence number and KPL
	// sub-sequence of the Kinesis record the event came in.
	Shard       string
	Sequence    string
	SubSequence int64
	// Index and ID of the document when it got that far.
	Index string
	ID    string
	// Object is true when the whole object was quarantined (Raw is empty:
	// the object itself is the raw data).
	Object bool
	// Raw is the record's exact bytes: nil when RawRef holds them, or when
	// they were not kept (a whole object; a record longer than the
	// producer keeps, see Reason).
	Raw []byte
	// RawSize is len of the raw bytes (set from Raw when encoding).
	RawSize int64
	// RawSHA256 is the hex SHA-256 of the raw bytes (set from Raw when
	// encoding), to check bytes fetched from RawRef.
	RawSHA256 string
	// RawRef is where the raw bytes are when they are not inline:
	// s3://bucket/key of an object holding exactly them.
	RawRef string
	// Context is the object-level state the record needs to be parsed
	// again (the header line of a CSV object), exact bytes.
	Context []byte
}

// wireRecord is the JSON shape. Field names are those of the dead-letter
// index template (schemas/templates/data/components/siemstream-deadletter.mapping).
type wireRecord struct {
	Timestamp     string     `json:"@timestamp"`
	Stage         string     `json:"stage"`
	Reason        string     `json:"reason"`
	LogType       string     `json:"log_type,omitempty"`
	S3            *s3Origin  `json:"s3,omitempty"`
	Ordinal       int64      `json:"ordinal"`
	Kinesis       *kinOrigin `json:"kinesis,omitempty"`
	Target        *targetDoc `json:"target,omitempty"`
	Object        bool       `json:"object,omitempty"`
	Raw           *string    `json:"raw,omitempty"`
	RawBase64     *string    `json:"raw_base64,omitempty"`
	RawBytes      int64      `json:"raw_bytes"`
	RawSHA256     string     `json:"raw_sha256,omitempty"`
	RawRef        string     `json:"raw_ref,omitempty"`
	Context       *string    `json:"context,omitempty"`
	ContextBase64 *string    `json:"context_base64,omitempty"`
	Truncated     bool       `json:"raw_truncated,omitempty"` // only in records written before exact bytes
}

type s3Origin struct {
	Bucket string `json:"bucket"`
	Key    string `json:"key"`
}

type kinOrigin struct {
	Shard       string `json:"shard"`
	Sequence    string `json:"sequence"`
	SubSequence int64  `json:"sub_sequence"`
}

type targetDoc struct {
	Index string `json:"index"`
	ID    string `json:"id"`
}

// bytesField returns the text and base64 fields for b: text when b is valid
// UTF-8 (JSON strings carry any valid UTF-8 exactly), base64 otherwise.
func bytesField(b []byte) (text, b64 *string) {
	if utf8.Valid(b) {
		s := string(b)
		return &s, nil
	}
	s := base64.StdEncoding.EncodeToString(b)
	return nil, &s
}

// MarshalJSON renders the record as one JSON object (no newline).
func (r *Record) MarshalJSON() ([]byte, error) {
	w := wireRecord{
		Timestamp: r.Time.UTC().Format(time.RFC3339Nano),
		Stage:     r.Stage, Reason: r.Reason, LogType: r.LogType,
		Ordinal: r.Ordinal, Object: r.Object, RawRef: r.RawRef,
		RawBytes: r.RawSize, RawSHA256: r.RawSHA256,
	}
	if r.Bucket != "" || r.Key != "" {
		w.S3 = &s3Origin{Bucket: r.Bucket, Key: r.Key}
	}
	if r.Shard != "" || r.Sequence != "" {
		w.Kinesis = &kinOrigin{Shard: r.Shard, Sequence: r.Sequence, SubSequence: r.SubSequence}
	}
	if r.Index != "" || r.ID != "" {
		w.Target = &targetDoc{Index: r.Index, ID: r.ID}
	}
	if r.Raw != nil { // with RawRef too: `deadletters list` prints fetched bytes inline
		w.Raw, w.RawBase64 = bytesField(r.Raw)
		w.RawBytes = int64(len(r.Raw))
		w.RawSHA256 = SHA256(r.Raw)
	}
	if len(r.Context) > 0 {
		w.Context, w.ContextBase64 = bytesField(r.Context)
	}
	return json.Marshal(&w)
}

// UnmarshalJSON reads what MarshalJSON wrote (and the older producer and
// consumer formats, whose raw may be truncated: ErrTruncated then).
func (r *Record) UnmarshalJSON(b []byte) error {
	var w wireRecord
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*r = Record{Stage: w.Stage, Reason: w.Reason, LogType: w.LogType, Ordinal: w.Ordinal, Object: w.Object,
		RawSize: w.RawBytes, RawSHA256: w.RawSHA256, RawRef: w.RawRef}
	if w.Timestamp != "" {
		t, err := time.Parse(time.RFC3339Nano, w.Timestamp)
		if err != nil {
			return fmt.Errorf("dead letter @timestamp: %w", err)
		}
		r.Time = t
	}
	if w.S3 != nil {
		r.Bucket, r.Key = w.S3.Bucket, w.S3.Key
	}
	if w.Kinesis != nil {
		r.Shard, r.Sequence, r.SubSequence = w.Kinesis.Shard, w.Kinesis.Sequence, w.Kinesis.SubSequence
	}
	if w.Target != nil {
		r.Index, r.ID = w.Target.Index, w.Target.ID
	}
	var err error
	if r.Raw, err = fromFields(w.Raw, w.RawBase64); err != nil {
		return fmt.Errorf("dead letter raw_base64: %w", err)
	}
	if r.Context, err = fromFields(w.Context, w.ContextBase64); err != nil {
		return fmt.Errorf("dead letter context_base64: %w", err)
	}
	if r.Raw != nil && r.RawSize == 0 {
		r.RawSize = int64(len(r.Raw))
	}
	if w.Truncated {
		return ErrTruncated
	}
	return nil
}

// ErrTruncated: the record was written by an older version that cut raw
// bytes; the rest of the record is decoded.
var ErrTruncated = errors.New("dead letter: raw bytes were truncated when it was written (older format)")

func fromFields(text, b64 *string) ([]byte, error) {
	switch {
	case text != nil:
		return []byte(*text), nil
	case b64 != nil:
		return base64.StdEncoding.DecodeString(*b64)
	}
	return nil, nil
}

// SHA256 is the hex digest recorded for raw bytes.
func SHA256(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// Verify checks raw bytes against the recorded length and digest (a record
// that records neither passes).
func (r *Record) Verify(raw []byte) error {
	if r.RawSize != 0 && int64(len(raw)) != r.RawSize {
		return fmt.Errorf("dead letter %s: raw bytes are %d long, recorded %d", r.Where(), len(raw), r.RawSize)
	}
	if r.RawSHA256 != "" && SHA256(raw) != r.RawSHA256 {
		return fmt.Errorf("dead letter %s: raw bytes do not match their recorded SHA-256", r.Where())
	}
	return nil
}

// DocID is the record's stable identity and its _id in the dead-letter
// index: one record of one object (or one Kinesis record) refused at one
// stage (for one target document), so the same refusal written again (a
// re-read after a crash) overwrites itself. Unchanged from earlier versions
// for records with an S3 origin.
func (r *Record) DocID() string {
	key := r.Key
	if r.Bucket == "" && r.Key == "" && r.Shard != "" {
		key = "kinesis:" + r.Shard + "/" + r.Sequence + "/" + strconv.FormatInt(r.SubSequence, 10)
	}
	h := md5.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%d\x00%s", r.Stage, r.Bucket, key, r.Ordinal, r.ID)
	return hex.EncodeToString(h.Sum(nil))
}

// Where names the record's origin for messages.
func (r *Record) Where() string {
	switch {
	case r.Bucket != "" || r.Key != "":
		return fmt.Sprintf("s3://%s/%s#%d", r.Bucket, r.Key, r.Ordinal)
	case r.Shard != "":
		return fmt.Sprintf("kinesis:%s/%s/%d", r.Shard, r.Sequence, r.SubSequence)
	}
	return "unknown origin"
}
