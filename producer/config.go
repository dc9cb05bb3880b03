package producer

import (
	"errors"
	"fmt"
	"time"

	"github.com/siemstream/siemstream/internal/wire"
	"github.com/siemstream/siemstream/producer/pack"
	"github.com/siemstream/siemstream/producer/split"
	"github.com/siemstream/siemstream/schemas"
)

// Config configures the producer. Zero values mean the documented default.
type Config struct {
	// QueueURL is the SQS queue that receives S3 notifications.
	QueueURL string
	// Stream is the Kinesis stream to write to.
	Stream string
	// Workers is how many objects are loaded at once (default 4).
	Workers int
	// VisibilityTimeout is asked of SQS for messages being worked on; it is
	// extended every VisibilityTimeout/2 while an object still streams
	// (default 60s).
	VisibilityTimeout time.Duration
	// WaitTime is the SQS long-poll wait (default 20s; 1..20s).
	WaitTime time.Duration
	// DeadLetterBucket and DeadLetterPrefix say where quarantined records
	// and objects go (default: the object's own bucket, prefix
	// "siemstream-deadletter/"). Keys under the prefix are never loaded.
	DeadLetterBucket string
	DeadLetterPrefix string
	// DeadLetterPartBytes is the size at which an object's quarantined
	// records are written out as one part object (default 8 MiB): it bounds
	// the memory a worker holds for them.
	DeadLetterPartBytes int
	// MaxRecordBytes is the largest raw record accepted (default 1 MiB);
	// a longer one is quarantined and the rest of the object goes on.
	MaxRecordBytes int
	// PutRetryMax caps one PutRecords backoff (default 10s).
	PutRetryMax time.Duration
	// PutTimeout bounds one PutRecords call (default 60s). A server that
	// accepts the call and never answers (a half-open connection after a
	// NAT or load-balancer drop) would otherwise hold the worker, and the
	// SQS message it keeps invisible, for good; a call not answered in time
	// is sent again like any throttled one (at least once: the records may
	// have been written, the consumer's _ids make the copies one document).
	PutTimeout time.Duration
	// Codec compresses the chunks written to the stream: "zstd" (default),
	// "s2" (1.3-1.5x the producer's MB per CPU-second for 1.6-1.7x the
	// stream bytes, measured on VPC, ALB and CloudTrail) or "none".
	// Consumers read every codec; the codec is per chunk.
	Codec string
	// Limits is the per-object and per-record resource budget against
	// hostile or broken objects (zero fields: the defaults).
	Limits Limits
	// Observer is told about objects, messages and visibility extensions
	// (metrics); nil means none.
	Observer Observer
}

// Limits is the resource budget of one object and one record. Exceeding
// one quarantines the record (depth, size) or the rest of the object
// (decompression limits) with the reason; the rest goes on. The README's
// "Limits (hostile input)" table lists them with their flags.
type Limits struct {
	// MaxJSONDepth: deepest JSON nesting of a record (default 1000;
	// es-loader fails records nested about 950 deep).
	MaxJSONDepth int
	// MaxDecompressedBytes: decompressed content of one compressed object
	// (default 2 GiB).
	MaxDecompressedBytes int64
	// MaxDecompressionRatio: decompressed/compressed bytes, checked past
	// 64 MiB of content (default 200).
	MaxDecompressionRatio int64
	// MaxDecompressTime: time spent decompressing one object (default 5m).
	MaxDecompressTime time.Duration
	// MaxSpoolBytes: largest zip or parquet object, spooled for random
	// access (default 4 GiB).
	MaxSpoolBytes int64
}

// DefaultLimits returns the documented defaults.
func DefaultLimits() Limits {
	return Limits{
		MaxJSONDepth:          split.DefaultMaxDepth,
		MaxDecompressedBytes:  split.DefaultMaxDecompressedBytes,
		MaxDecompressionRatio: split.DefaultMaxRatio,
		MaxDecompressTime:     split.DefaultMaxDecompressTime,
		MaxSpoolBytes:         split.DefaultMaxSpoolBytes,
	}
}

// Validate checks the limits (zero means the default).
func (l Limits) Validate() error {
	var errs []error
	if l.MaxJSONDepth < 0 {
		errs = append(errs, fmt.Errorf("max JSON depth %d: must be >= 0", l.MaxJSONDepth))
	}
	if l.MaxDecompressedBytes < 0 || l.MaxDecompressionRatio < 0 || l.MaxDecompressTime < 0 || l.MaxSpoolBytes < 0 {
		errs = append(errs, fmt.Errorf("decompression limits must be >= 0 (bytes %d, ratio %d, time %s, spool %d)",
			l.MaxDecompressedBytes, l.MaxDecompressionRatio, l.MaxDecompressTime, l.MaxSpoolBytes))
	}
	if l.MaxDecompressionRatio > 0 && l.MaxDecompressionRatio < 10 {
		errs = append(errs, fmt.Errorf("max decompression ratio %d: must be >= 10 (logs compress 5-30x)", l.MaxDecompressionRatio))
	}
	return errors.Join(errs...)
}

// OpenOptions are the split options of an object of that log type and key.
func (l Limits) OpenOptions(f schemas.FileFormat, key string) split.OpenOptions {
	o := split.DefaultOpenOptions()
	o.MaxDecompressedBytes, o.MaxRatio, o.MaxDecompressTime = l.MaxDecompressedBytes, l.MaxDecompressionRatio, l.MaxDecompressTime
	if l.MaxSpoolBytes > 0 {
		o.MaxSpoolBytes = l.MaxSpoolBytes
	}
	o.Parquet = split.MayBeParquet(f, key)
	return o
}

// SplitOptions are the splitter options for records of at most maxRecord
// bytes.
func (l Limits) SplitOptions(maxRecord int) split.Options {
	return split.Options{MaxRecordBytes: maxRecord, MaxDepth: l.MaxJSONDepth}
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		Workers:           4,
		VisibilityTimeout: 60 * time.Second,
		WaitTime:          20 * time.Second,
		DeadLetterPrefix:  "siemstream-deadletter/",
		MaxRecordBytes:    1 << 20,
		PutRetryMax:       10 * time.Second,
		PutTimeout:        60 * time.Second,
		Codec:             pack.DefaultCodec,
		Limits:            DefaultLimits(),
	}
}

func (c *Config) applyDefaults() {
	d := DefaultConfig()
	if c.Workers == 0 {
		c.Workers = d.Workers
	}
	if c.VisibilityTimeout == 0 {
		c.VisibilityTimeout = d.VisibilityTimeout
	}
	if c.WaitTime == 0 {
		c.WaitTime = d.WaitTime
	}
	if c.DeadLetterPrefix == "" {
		c.DeadLetterPrefix = d.DeadLetterPrefix
	}
	if c.MaxRecordBytes == 0 {
		c.MaxRecordBytes = d.MaxRecordBytes
	}
	if c.PutRetryMax == 0 {
		c.PutRetryMax = d.PutRetryMax
	}
	if c.PutTimeout == 0 {
		c.PutTimeout = d.PutTimeout
	}
	if c.Codec == "" {
		c.Codec = d.Codec
	}
}

// Validate checks the config (after defaults).
func (c Config) Validate() error {
	var errs []error
	if c.Stream == "" {
		errs = append(errs, errors.New("stream is required (--stream or SIEM_STREAM)"))
	}
	if c.Workers < 1 || c.Workers > 256 {
		errs = append(errs, fmt.Errorf("workers %d: must be 1..256", c.Workers))
	}
	if c.VisibilityTimeout < 10*time.Second {
		errs = append(errs, fmt.Errorf("visibility timeout %s: must be >= 10s", c.VisibilityTimeout))
	}
	if c.WaitTime < 0 || c.WaitTime > 20*time.Second {
		errs = append(errs, fmt.Errorf("wait time %s: must be 0..20s", c.WaitTime))
	}
	if c.PutTimeout < time.Second {
		errs = append(errs, fmt.Errorf("put timeout %s: must be >= 1s", c.PutTimeout))
	}
	if c.MaxRecordBytes < 1024 {
		errs = append(errs, fmt.Errorf("max record bytes %d: must be >= 1024", c.MaxRecordBytes))
	}
	if _, err := wire.ParseCodec(c.Codec); err != nil {
		errs = append(errs, fmt.Errorf("codec: %w", err))
	}
	if err := c.Limits.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// packConfig is how the producer cuts and compresses chunks: the pack
// defaults with the configured codec.
func (c Config) packConfig() pack.Config {
	pc := pack.DefaultConfig()
	pc.Codec = c.Codec
	return pc
}
