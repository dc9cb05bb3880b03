package split

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Compression names the container of an S3 object, as detected from its
// first bytes (never from its key's extension).
type Compression string

// Compressions Open recognises.
const (
	None  Compression = "none" // plain text
	Gzip  Compression = "gzip" // RFC 1952, including concatenated members
	Zstd  Compression = "zstd" // RFC 8878, including concatenated frames
	Bzip2 Compression = "bzip2"
	// Zip: every member, in central-directory order (see OpenWith).
	Zip Compression = "zip"
	// Parquet is a format rather than a compression: its rows become
	// newline-delimited JSON objects (see OpenWith), and New then splits
	// them as KindLines whatever the Format asked for.
	Parquet Compression = "parquet"
)

// Errors of Open. They are wrapped; test with errors.Is.
var (
	// ErrBinary: the object is neither a known compression format nor text.
	ErrBinary = errors.New("split: unknown binary format (not gzip, zstd, bzip2 or text)")
	// ErrUnsupportedCompression: a recognised format this build cannot read.
	ErrUnsupportedCompression = errors.New("split: unsupported compression")
	// ErrNestedCompression: a compressed object whose content is compressed
	// again (e.g. .gz.gz).
	ErrNestedCompression = errors.New("split: nested compression")
	// ErrCorrupt: the decompressor rejected the content (bad header,
	// checksum, truncated stream while the source ended cleanly). Errors
	// of the source reader itself (e.g. a dropped S3 connection) are
	// returned unchanged, never as ErrCorrupt, so they can be retried.
	ErrCorrupt = errors.New("split: corrupt compressed content")
)

// IsContentError reports whether err (from Open, New or Next) is caused by
// the object's content: retrying cannot help, quarantine the object. False
// for io.EOF, nil, and read errors of the source.
func IsContentError(err error) bool {
	var re *RecordError
	return errors.Is(err, ErrBinary) || errors.Is(err, ErrUnsupportedCompression) || errors.Is(err, ErrNestedCompression) ||
		errors.Is(err, ErrCorrupt) || errors.Is(err, ErrHeaderTooLarge) || errors.Is(err, ErrInvalidJSON) ||
		errors.Is(err, ErrNoDelimiter) || errors.Is(err, ErrRecordTooLarge) || errors.Is(err, ErrTooLarge) ||
		errors.Is(err, ErrParquet) || errors.Is(err, ErrCWLPayload) || errors.Is(err, ErrLimit) || errors.Is(err, ErrTooDeep) ||
		errors.As(err, &re)
}

// sniffLen is how many leading bytes decide compression and text/binary.
const sniffLen = 512

// zstdMaxWindow bounds the window of a zstd stream (memory per object).
// 128 MiB accepts files written with zstd --long (the default window is
// at most 8 MiB).
const zstdMaxWindow = 128 << 20

// decompressor is one registry entry: a format recognised by a magic prefix.
// open is nil for formats that are recognised but not supported; adding
// one is adding an entry here.
type decompressor struct {
	name  Compression
	magic []byte
	open  func(r io.Reader) (io.Reader, func() error, error)
	why   string // for unsupported formats
}

var registry = []decompressor{
	{name: Gzip, magic: []byte{0x1f, 0x8b}, open: openGzip},
	{name: Zstd, magic: []byte{0x28, 0xb5, 0x2f, 0xfd}, open: openZstd},
	{name: Bzip2, magic: []byte("BZh"), open: openBzip2},
	// zip and parquet need random access: handled by OpenWith (spooled).
	{name: Zip, magic: []byte("PK\x03\x04")},
	{name: Zip, magic: []byte("PK\x05\x06")}, // empty archive
	{name: Parquet, magic: []byte("PAR1")},
}

func openGzip(r io.Reader) (io.Reader, func() error, error) {
	z, err := gzip.NewReader(r) // Multistream is on: concatenated members are one stream
	if err != nil {
		return nil, nil, err
	}
	return z, z.Close, nil
}

func openZstd(r io.Reader) (io.Reader, func() error, error) {
	// Concurrency 1 decodes synchronously: no goroutines to leak.
	z, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(zstdMaxWindow), zstd.WithDecoderLowmem(true))
	if err != nil {
		return nil, nil, err
	}
	return z, func() error { z.Close(); return nil }, nil
}

func openBzip2(r io.Reader) (io.Reader, func() error, error) {
	return bzip2.NewReader(r), func() error { return nil }, nil
}

func lookup(head []byte) *decompressor {
	for i := range registry {
		if bytes.HasPrefix(head, registry[i].magic) {
			return &registry[i]
		}
	}
	return nil
}

// isText reports whether head looks like text: no control bytes other than
// BEL, BS, TAB, LF, FF, CR and ESC (the set es-loader accepts). Bytes >= 0x80
// are allowed (UTF-8 and legacy 8-bit text).
func isText(head []byte) bool {
	for _, b := range head {
		if b < 0x20 && b != 7 && b != 8 && b != '\t' && b != '\n' && b != '\f' && b != '\r' && b != 27 {
			return false
		}
		if b == 0x7f {
			return false
		}
	}
	return true
}

type objectReader struct {
	*bufio.Reader
	close func() error
}

// sourceReader remembers whether the source failed, so a decompressor error
// can be told apart from a read error passed through.
type sourceReader struct {
	r   io.Reader
	err error
}

func (s *sourceReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF && s.err == nil {
		s.err = err
	}
	return n, err
}

// corruptReader marks errors of a decompressor as ErrCorrupt unless the
// source failed.
type corruptReader struct {
	r    io.Reader
	src  *sourceReader
	name Compression
}

func (c *corruptReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if err != nil && err != io.EOF {
		if c.src.err != nil {
			return n, c.src.err
		}
		return n, fmt.Errorf("%w: %s: %w", ErrCorrupt, c.name, err)
	}
	return n, err
}

func (o *objectReader) Close() error {
	if o.close == nil {
		return nil
	}
	c := o.close
	o.close = nil
	return c()
}

// Open is OpenWith with DefaultOpenOptions.
func Open(r io.Reader) (io.ReadCloser, Compression, error) {
	return OpenWith(r, DefaultOpenOptions())
}

// OpenWith is OpenContext without cancellation.
func OpenWith(r io.Reader, o OpenOptions) (io.ReadCloser, Compression, error) {
	return OpenContext(context.Background(), r, o)
}

// countingSource counts the bytes read from the object itself
// (compressed), and checks ctx so that spooling a large zip or parquet
// object stops when asked to.
type countingSource struct {
	r   io.Reader
	n   int64
	ctx context.Context
}

func (c *countingSource) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// budgetReader enforces, on the decompressed content of one object, the
// decompression limits of OpenOptions and the cancellation of ctx: every
// Read first checks ctx, so a splitter loop over a bomb (or any long
// object) stops when the process is told to (the error is ctx's, not a
// content error: the object is retried, not quarantined).
type budgetReader struct {
	r     io.Reader
	ctx   context.Context
	comp  Compression
	limit bool            // false: plain content, only ctx is checked
	src   *countingSource // compressed bytes read so far, or nil
	srcN  int64           // compressed size when known up front (spooled)
	o     OpenOptions
	n     int64
	spent time.Duration
	err   error
}

func (b *budgetReader) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if err := b.ctx.Err(); err != nil {
		b.err = err
		return 0, err
	}
	if !b.limit {
		return b.r.Read(p)
	}
	if rest := b.o.MaxDecompressedBytes - b.n; int64(len(p)) > rest+1 {
		p = p[:rest+1] // read one byte beyond the limit, not more
	}
	t0 := time.Now()
	n, err := b.r.Read(p)
	b.spent += time.Since(t0)
	b.n += int64(n)
	in := b.srcN
	if b.src != nil {
		in = b.src.n
	}
	switch {
	case b.n > b.o.MaxDecompressedBytes:
		b.err = fmt.Errorf("%w: %s content larger than %d bytes (max decompressed bytes)", ErrLimit, b.comp, b.o.MaxDecompressedBytes)
		n = max(0, n-int(b.n-b.o.MaxDecompressedBytes))
	case b.n > RatioFloorBytes && b.n > b.o.MaxRatio*max(in, 1):
		b.err = fmt.Errorf("%w: %s content %d bytes from %d compressed bytes: ratio beyond %d (max decompression ratio)",
			ErrLimit, b.comp, b.n, in, b.o.MaxRatio)
	case b.spent > b.o.MaxDecompressTime:
		b.err = fmt.Errorf("%w: %s decompression took longer than %s (max decompress time)", ErrLimit, b.comp, b.o.MaxDecompressTime)
	default:
		return n, err
	}
	return n, b.err
}

// budgetReadCloser is a budgetReader over a reader that must be closed.
type budgetReadCloser struct {
	budgetReader
	c io.Closer
}

func (b *budgetReadCloser) Close() error { return b.c.Close() }

// OpenWith detects the compression of an S3 object from its first bytes
// (never from its key) and returns a reader of its decompressed content.
//
//   - gzip (concatenated members), zstd (concatenated frames), bzip2
//     (concatenated streams): streamed.
//   - zip: every member that is not a directory, in central-directory
//     order, each followed by a '\n' when it does not end with one (so a
//     record never spans members). A zip needs random access: the object
//     is spooled, in memory up to OpenOptions.MemSpoolBytes, else to a
//     temporary file in OpenOptions.TempDir that is unlinked at once (no
//     leftover on a crash) and holds at most MaxSpoolBytes (a larger
//     object is ErrTooLarge). Members are read one at a time. Every
//     member of the archive is loaded; es-loader reads the first only.
//     Content from several members of csv or text-with-header objects is
//     concatenated, so a header repeated in later members is data: use
//     zip with such formats only with one member.
//   - parquet ("PAR1", also inside gzip/zstd/bzip2 as es-loader allows):
//     spooled the same way, then read row group by row group; each row is
//     one line of JSON (see parquetReader). New switches the format to
//     KindLines for such a reader.
//
// One level of compression is undone: compressed content inside
// (gzip in gzip, zip in gzip, gzip in a zip member, …) is
// ErrNestedCompression, as es-loader refuses "double archived" files.
// Content that is neither a known format nor text is ErrBinary. An empty
// object is None with no content.
//
// Close releases the decompressor and the spool; it does not close r. Read
// errors of the returned reader are fatal for the object (a truncated gzip
// member yields an ErrCorrupt error after the last complete data).
//
// Limits (OpenOptions): the decompressed content of a compressed object is
// cut with ErrLimit beyond MaxDecompressedBytes, beyond MaxRatio times the
// compressed bytes read (past RatioFloorBytes) or after MaxDecompressTime
// spent decompressing; a zip whose members overlap (one compressed stream
// read as many members: 1 MB expanding to a TiB) is ErrLimit before any
// member is read; PAR1 content is read as Parquet only with
// OpenOptions.Parquet, and its footer and page headers are checked
// against the file size before the Parquet library sees them. Every Read
// checks ctx first.
func OpenContext(ctx context.Context, r io.Reader, o OpenOptions) (io.ReadCloser, Compression, error) {
	if err := o.Validate(); err != nil {
		return nil, "", err
	}
	o = o.withDefaults()
	raw := &countingSource{r: r, ctx: ctx}
	br := bufio.NewReaderSize(raw, 64<<10)
	head, err := br.Peek(sniffLen)
	if err != nil && err != io.EOF && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, "", fmt.Errorf("split: read object head: %w", err)
	}
	d := lookup(head)
	if d != nil && d.name == Parquet && !o.Parquet {
		d = nil // PAR1 where no Parquet is expected: just bytes
	}
	if d == nil {
		if !isText(head) {
			return nil, "", ErrBinary
		}
		return &objectReader{Reader: bufio.NewReaderSize(&budgetReader{r: br, ctx: ctx, comp: None}, 64<<10)}, None, nil
	}
	switch d.name {
	case Zip:
		rc, err := openZip(br, o)
		if err != nil {
			return nil, Zip, err
		}
		return &budgetReadCloser{budgetReader{r: rc, ctx: ctx, comp: Zip, limit: true, srcN: rc.sp.size, o: o}, rc}, Zip, nil
	case Parquet:
		rc, err := openParquet(br, o, nil)
		if err != nil {
			return nil, Parquet, err
		}
		return &budgetReadCloser{budgetReader{r: rc, ctx: ctx, comp: Parquet, limit: true, srcN: rc.sp.size, o: o}, rc}, Parquet, nil
	}
	if d.open == nil {
		return nil, d.name, fmt.Errorf("%w: %s (%s)", ErrUnsupportedCompression, d.name, d.why)
	}
	src := &sourceReader{r: br}
	dr, closeFn, err := d.open(src)
	if err != nil {
		if src.err != nil {
			return nil, d.name, fmt.Errorf("split: open %s: %w", d.name, src.err)
		}
		return nil, d.name, fmt.Errorf("%w: open %s: %w", ErrCorrupt, d.name, err)
	}
	dec := &budgetReader{r: &corruptReader{r: dr, src: src, name: d.name}, ctx: ctx, comp: d.name, limit: true, src: raw, o: o}
	inner := bufio.NewReaderSize(dec, 64<<10)
	// A read error here (e.g. a gzip truncated in its first bytes) is not
	// returned: the splitter reads the data before it, then reports it.
	head, _ = inner.Peek(sniffLen)
	if n := lookup(head); n != nil && (n.name != Parquet || o.Parquet) {
		if n.name == Parquet {
			rc, err := openParquet(inner, o, closeFn)
			if err != nil {
				return nil, d.name, err
			}
			return &budgetReadCloser{budgetReader{r: rc, ctx: ctx, comp: Parquet, limit: true, srcN: raw.n, o: o}, rc}, d.name, nil
		}
		closeFn()
		return nil, d.name, fmt.Errorf("%w: %s inside %s (double-compressed object; es-loader refuses it too)", ErrNestedCompression, n.name, d.name)
	}
	if !isText(head) {
		closeFn()
		return nil, d.name, fmt.Errorf("%w: %s content", ErrBinary, d.name)
	}
	return &objectReader{Reader: inner, close: closeFn}, d.name, nil
}
