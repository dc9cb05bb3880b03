package split

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
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

// ErrTooLarge: a zip or parquet object is larger than
// OpenOptions.MaxSpoolBytes.
var ErrTooLarge = errors.New("split: object too large to spool")

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
}

// DefaultOpenOptions returns the documented defaults.
func DefaultOpenOptions() OpenOptions {
	return OpenOptions{MemSpoolBytes: DefaultMemSpoolBytes, MaxSpoolBytes: DefaultMaxSpoolBytes}
}

// Validate checks the options.
func (o OpenOptions) Validate() error {
	if o.MemSpoolBytes < 0 || o.MaxSpoolBytes < 0 {
		return fmt.Errorf("split: spool sizes must be >= 0 (mem %d, max %d)", o.MemSpoolBytes, o.MaxSpoolBytes)
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
