package split

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/siemstream/siemstream/schemas"
)

// Spool defaults.
const (
	// DefaultMemSpoolBytes: objects that need random access (zip, parquet)
	// up to this size are held in memory.
	DefaultMemSpoolBytes = 8 << 20
	// DefaultMaxSpoolBytes: larger ones go to a temporary file of at most
	// this size (S3 objects of security logs are far smaller; Lambda's
	// es-loader holds the whole object in memory).
	DefaultMaxSpoolBytes = 4 << 30
)

// Decompression limits (the per-object part of the resource budget).
const (
	// DefaultMaxDecompressedBytes bounds an object's decompressed content:
	// es-loader's objects are at most a few hundred MB decompressed (it
	// holds them in a Lambda's memory), so 2 GiB leaves room and stops a
	// bomb long before it costs minutes of CPU.
	DefaultMaxDecompressedBytes = 2 << 30
	// DefaultMaxRatio bounds decompressed/compressed bytes. Logs compress
	// 5–30×; gzip cannot go beyond ~1032× and a gzip of one repeated byte
	// (a "newline bomb") is close to that, bzip2 far beyond.
	DefaultMaxRatio = 200
	// RatioFloorBytes: the ratio is only checked once this much has been
	// decompressed, so small, very repetitive objects always pass.
	RatioFloorBytes = 64 << 20
	// DefaultMaxDecompressTime bounds the time spent inside the
	// decompressor for one object (not the time spent waiting for the
	// records to be sent).
	DefaultMaxDecompressTime = 5 * time.Minute
)

// ErrTooLarge: a zip or parquet object is larger than
// OpenOptions.MaxSpoolBytes.
var ErrTooLarge = errors.New("split: object too large to spool")

// ErrLimit: the object exceeds a decompression limit (size, ratio, time,
// overlapping zip members, a parquet footer or page larger than the
// file allows). It is a content error: the object is quarantined with
// the reason, the records read before are kept.
var ErrLimit = errors.New("split: decompression limit exceeded")

// OpenOptions tune how OpenWith spools objects that need random access.
// The zero value means the defaults.
type OpenOptions struct {
	// MemSpoolBytes: spool in memory up to this size. 0: DefaultMemSpoolBytes.
	MemSpoolBytes int64
	// MaxSpoolBytes: refuse (ErrTooLarge) beyond this size. 0:
	// DefaultMaxSpoolBytes.
	MaxSpoolBytes int64
	// TempDir for spool files; "" is os.TempDir().
	TempDir string
	// MaxDecompressedBytes: a compressed object whose content grows beyond
	// this is cut there with ErrLimit. 0: DefaultMaxDecompressedBytes.
	// Plain (uncompressed) objects are not limited.
	MaxDecompressedBytes int64
	// MaxRatio: a compressed object whose content is more than MaxRatio
	// times the compressed bytes read so far (checked beyond
	// RatioFloorBytes) is cut there with ErrLimit. 0: DefaultMaxRatio.
	MaxRatio int64
	// MaxDecompressTime: time spent decompressing one object (inside its
	// Read calls) beyond this is ErrLimit. 0: DefaultMaxDecompressTime.
	MaxDecompressTime time.Duration
	// Parquet says the object may be Parquet: its log type's file_format
	// is parquet or its key ends in ".parquet". Only then is content
	// starting with "PAR1" read as Parquet (es-loader switches on the
	// magic alone, but a forged footer must not reach the Parquet reader
	// of a log type that never has Parquet); elsewhere it is text or
	// ErrBinary like any other content.
	Parquet bool
}

// DefaultOpenOptions returns the documented defaults.
func DefaultOpenOptions() OpenOptions {
	return OpenOptions{MemSpoolBytes: DefaultMemSpoolBytes, MaxSpoolBytes: DefaultMaxSpoolBytes,
		MaxDecompressedBytes: DefaultMaxDecompressedBytes, MaxRatio: DefaultMaxRatio, MaxDecompressTime: DefaultMaxDecompressTime}
}

// Validate checks the options.
func (o OpenOptions) Validate() error {
	if o.MemSpoolBytes < 0 || o.MaxSpoolBytes < 0 {
		return fmt.Errorf("split: spool sizes must be >= 0 (mem %d, max %d)", o.MemSpoolBytes, o.MaxSpoolBytes)
	}
	if o.MaxDecompressedBytes < 0 || o.MaxRatio < 0 || o.MaxDecompressTime < 0 {
		return fmt.Errorf("split: max decompressed bytes %d, max ratio %d and max decompress time %s must be >= 0",
			o.MaxDecompressedBytes, o.MaxRatio, o.MaxDecompressTime)
	}
	return nil
}

func (o OpenOptions) withDefaults() OpenOptions {
	if o.MemSpoolBytes == 0 {
		o.MemSpoolBytes = DefaultMemSpoolBytes
	}
	if o.MaxSpoolBytes == 0 {
		o.MaxSpoolBytes = DefaultMaxSpoolBytes
	}
	if o.MaxDecompressedBytes == 0 {
		o.MaxDecompressedBytes = DefaultMaxDecompressedBytes
	}
	if o.MaxRatio == 0 {
		o.MaxRatio = DefaultMaxRatio
	}
	if o.MaxDecompressTime == 0 {
		o.MaxDecompressTime = DefaultMaxDecompressTime
	}
	return o
}

// spooled is a random-access copy of an object.
type spooled struct {
	io.ReaderAt
	size  int64
	close func() error
}

// spool copies r into memory or an unlinked temporary file. Errors of r
// are returned as they are (retryable), a size over the limit is
// ErrTooLarge.
func spool(r io.Reader, o OpenOptions) (*spooled, error) {
	var mem bytes.Buffer
	n, err := io.CopyN(&mem, r, o.MemSpoolBytes+1)
	if err == io.EOF || (err == nil && n <= o.MemSpoolBytes) {
		b := mem.Bytes()
		return &spooled{ReaderAt: bytes.NewReader(b), size: int64(len(b)), close: func() error { return nil }}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("split: spool: %w", err)
	}
	f, err := os.CreateTemp(o.TempDir, "siemstream-spool-*")
	if err != nil {
		return nil, fmt.Errorf("split: spool: %w", err)
	}
	// Unlinked at once: the open descriptor keeps the data, nothing is
	// left behind if the process dies.
	os.Remove(f.Name())
	fail := func(err error) (*spooled, error) {
		f.Close()
		return nil, err
	}
	if _, err := f.Write(mem.Bytes()); err != nil {
		return fail(fmt.Errorf("split: spool: %w", err))
	}
	m, err := io.CopyN(f, r, o.MaxSpoolBytes-n+1)
	if err != nil && err != io.EOF {
		return fail(fmt.Errorf("split: spool: %w", err))
	}
	if n+m > o.MaxSpoolBytes {
		return fail(fmt.Errorf("%w: more than %d bytes", ErrTooLarge, o.MaxSpoolBytes))
	}
	return &spooled{ReaderAt: f, size: n + m, close: f.Close}, nil
}

// MayBeParquet reports whether an object of a log type with that
// file_format and that key may be Parquet (OpenOptions.Parquet): the log
// type says parquet, or the key ends in ".parquet".
func MayBeParquet(f schemas.FileFormat, key string) bool {
	return f == schemas.FormatParquet || strings.HasSuffix(strings.ToLower(key), ".parquet")
}
