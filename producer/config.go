package producer

import (
	"errors"
	"fmt"
	"time"
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
	// MaxRecordBytes is the largest raw record accepted (default 1 MiB);
	// a longer one is quarantined and the rest of the object goes on.
	MaxRecordBytes int
	// PutRetryMax caps one PutRecords backoff (default 10s).
	PutRetryMax time.Duration
	// Observer is told about objects, messages and visibility extensions
	// (metrics); nil means none.
	Observer Observer
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
	if c.MaxRecordBytes < 1024 {
		errs = append(errs, fmt.Errorf("max record bytes %d: must be >= 1024", c.MaxRecordBytes))
	}
	return errors.Join(errs...)
}
