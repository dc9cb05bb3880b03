package split

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/siemstream/siemstream/internal/testobj"
)

// A CloudTrail object whose second record is nested 100,000 deep: that
// record alone is refused (ErrTooDeep), the records around it load. Before,
// the scanner gave up on the rest of the object.
func TestDeepRecordFailsAlone(t *testing.T) {
	for _, depth := range []int{1001, 100_000} {
		deep := testobj.DeepJSON(depth)
		deepArr := strings.Repeat("[", depth) + strings.Repeat("]", depth)
		obj := `{"Records":[{"n":1},` + deep + `,{"n":3},` + deepArr + `,{"n":5}],"other":` + deepArr + `}`
		for _, f := range []Format{{Kind: KindJSON, JSONDelimiter: "Records"}} {
			recs, recErrs, fatal := collect(t, []byte(obj), f, Options{})
			if fatal != nil {
				t.Fatalf("depth %d: fatal %v", depth, fatal)
			}
			if got := string(bytes.Join(recs, []byte("|"))); got != `{"n":1}|{"n":3}|{"n":5}` || recErrs != 2 {
				t.Fatalf("depth %d: records %s, %d errors", depth, got, recErrs)
			}
		}
		// newline-delimited and top-level array
		nd := `{"n":1}` + "\n" + deep + "\n" + `{"n":3}`
		recs, recErrs, fatal := collect(t, []byte(nd), Format{Kind: KindJSON}, Options{})
		if fatal != nil || len(recs) != 2 || recErrs != 1 {
			t.Fatalf("ndjson depth %d: %d records, %d errors, fatal %v", depth, len(recs), recErrs, fatal)
		}
		s, _ := New(strings.NewReader(`[`+deep+`,2]`), Format{Kind: KindJSON}, Options{})
		_, _, err := s.Next()
		var re *RecordError
		if !errors.Is(err, ErrTooDeep) || !IsContentError(err) || !errors.As(err, &re) {
			t.Fatalf("array depth %d: %v", depth, err)
		}
		if string(re.Raw) != deep { // the dead letter keeps the bytes
			t.Fatalf("array depth %d: Raw has %d bytes, want %d", depth, len(re.Raw), len(deep))
		}
		if rec, _, err := s.Next(); err != nil || string(rec) != "2" {
			t.Fatalf("after the deep element: %q %v", rec, err)
		}
	}
	// 1000 deep is accepted by the splitter (decode refuses beyond 900, as
	// es-loader does beyond ~950).
	ok := strings.Repeat("[", 1000) + strings.Repeat("]", 1000)
	if recs, _, fatal := collect(t, []byte(ok), Format{Kind: KindJSON}, Options{}); fatal != nil || len(recs) != 0 {
		// a top-level array yields its elements: one, 999 deep
		if len(recs) != 1 {
			t.Fatalf("1000 deep: %d records, %v", len(recs), fatal)
		}
	}
}

// A gzip of newlines (ratio ~1000) stops at the ratio limit, quickly, and
// with ErrLimit (a content error: quarantined with the reason).
func TestGzipNewlineBomb(t *testing.T) {
	nl := bytes.Repeat([]byte("\n"), 1<<20)
	var buf bytes.Buffer
	w, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	for i := 0; i < 96; i++ { // 96 MiB of newlines, ~100 KB compressed
		w.Write(nl)
	}
	w.Write([]byte("never reached\n"))
	w.Close()
	t0 := time.Now()
	rc, comp, err := Open(bytes.NewReader(buf.Bytes()))
	if err != nil || comp != Gzip {
		t.Fatal(comp, err)
	}
	defer rc.Close()
	s, _ := New(rc, Format{Kind: KindText}, Options{})
	_, _, err = s.Next()
	if !errors.Is(err, ErrLimit) || !IsContentError(err) {
		t.Fatalf("err %v, want ErrLimit", err)
	}
	if !strings.Contains(err.Error(), "ratio") {
		t.Errorf("reason does not name the ratio: %v", err)
	}
	if d := time.Since(t0); d > 10*time.Second {
		t.Errorf("took %s", d)
	}
}

func TestDecompressedSizeLimit(t *testing.T) {
	line := []byte("2 123456789012 eni-0 10.0.0.1 10.0.0.2 1 2 6 1 40 1 2 ACCEPT OK\n")
	obj := testobj.GzipLevel(bytes.Repeat(line, 2000), 6) // 130 KB
	o := DefaultOpenOptions()
	o.MaxDecompressedBytes = 64 << 10
	rc, _, err := OpenWith(bytes.NewReader(obj), o)
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, rc)
	if !errors.Is(err, ErrLimit) || n > o.MaxDecompressedBytes {
		t.Fatalf("read %d bytes, err %v", n, err)
	}
	// es-loader-sized objects are unaffected by the defaults
	rc, _, err = Open(bytes.NewReader(obj))
	if err != nil {
		t.Fatal(err)
	}
	if n, err := io.Copy(io.Discard, rc); err != nil || n != int64(2000*len(line)) {
		t.Fatal(n, err)
	}
}

// Cancellation is honoured inside the decompression loop.
func TestOpenContextCancel(t *testing.T) {
	obj := testobj.GzipLevel(bytes.Repeat([]byte("a b c\n"), 1<<20), 1)
	ctx, cancel := context.WithCancel(context.Background())
	rc, _, err := OpenContext(ctx, bytes.NewReader(obj), DefaultOpenOptions())
	if err != nil {
		t.Fatal(err)
	}
	s, _ := New(rc, Format{Kind: KindText}, Options{})
	if _, _, err := s.Next(); err != nil {
		t.Fatal(err)
	}
	cancel()
	for i := 0; ; i++ {
		_, _, err := s.Next()
		if errors.Is(err, context.Canceled) {
			if IsContentError(err) {
				t.Fatal("cancellation is not a content error")
			}
			break
		}
		if err != nil || i > 1<<20 {
			t.Fatalf("after cancel: %v (%d records)", err, i)
		}
	}
}

func TestZipOverlappingMembers(t *testing.T) {
	obj := testobj.OverlapZip("kernel", bytes.Repeat([]byte("x y\n"), 1<<16), 50)
	_, _, err := Open(bytes.NewReader(obj))
	if !errors.Is(err, ErrLimit) || !IsContentError(err) || !strings.Contains(err.Error(), "overlap") {
		t.Fatalf("err %v, want ErrLimit (overlap)", err)
	}
}

// PAR1 bytes are Parquet only where the log type says so.
func TestParquetOnlyWhereExpected(t *testing.T) {
	rc, comp, err := Open(strings.NewReader("PAR1 is a word here\nsecond line\n"))
	if err != nil || comp != None {
		t.Fatalf("text starting with PAR1: %s %v", comp, err)
	}
	s, _ := New(rc, Format{Kind: KindText}, Options{})
	if rec, _, err := s.Next(); err != nil || string(rec) != "PAR1 is a word here" {
		t.Fatalf("%q %v", rec, err)
	}
}

func TestForgedParquetFooter(t *testing.T) {
	obj := testobj.ForgedParquetFooter()
	if len(obj) != 69 {
		t.Fatalf("%d bytes", len(obj))
	}
	for name, in := range map[string][]byte{"plain": obj, "gzip": testobj.GzipLevel(obj, 6)} {
		_, _, err := OpenWith(bytes.NewReader(in), parquetOK)
		if !errors.Is(err, ErrParquet) || !IsContentError(err) {
			t.Errorf("%s: err %v, want ErrParquet", name, err)
		}
		// where the log type has no Parquet, the bytes are just binary
		if _, _, err := Open(bytes.NewReader(in)); !errors.Is(err, ErrBinary) {
			t.Errorf("%s without Parquet: err %v, want ErrBinary", name, err)
		}
	}
	// other declared lengths: a footer longer than the file, a page larger
	// than its chunk
	long := append([]byte(nil), obj...)
	binary.LittleEndian.PutUint32(long[len(long)-8:], 1<<31)
	if _, _, err := OpenWith(bytes.NewReader(long), parquetOK); !errors.Is(err, ErrParquet) {
		t.Errorf("footer length: %v", err)
	}
}

func TestCheckSchemaTree(t *testing.T) {
	for _, c := range []struct {
		children []int64
		ok       bool
	}{
		{[]int64{2, 0, 0}, true},
		{[]int64{1, 1, 0}, true},
		{[]int64{1, 0, 0}, false},
		{[]int64{3, 0}, false},
		{[]int64{1 << 40}, false},
	} {
		if err := checkSchemaTree(c.children); (err == nil) != c.ok {
			t.Errorf("%v: %v", c.children, err)
		}
	}
}

// newlines reads n newline bytes without holding them.
type newlines struct{ n int64 }

func (r *newlines) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), r.n)]
	for i := range p {
		p[i] = '\n'
	}
	r.n -= int64(len(p))
	return len(p), nil
}

// A run of empty lines is skipped in one scan, whatever the format: 512
// MiB of newlines (what a 500 KB gzip expands to) took 40 s through the
// splitter before (a call, and for multiline a regexp run, per line), and
// half a second now.
func TestNewlineRunsAreCheap(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 512 MiB per format")
	}
	for _, f := range []Format{
		{Kind: KindText}, {Kind: KindCSV}, {Kind: KindLines}, {Kind: KindFirelens}, {Kind: KindJSON}, {Kind: KindCWL},
		{Kind: KindMultiline, FirstLine: regexp.MustCompile(`^2024`)},
	} {
		t0 := time.Now()
		s, err := New(&newlines{n: 512 << 20}, f, Options{})
		if err != nil {
			t.Fatal(err)
		}
		for {
			_, _, err := s.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", f.Kind, err)
			}
		}
		if d := time.Since(t0); d > 5*time.Second {
			t.Errorf("%s: 512 MiB of newlines took %s", f.Kind, d)
		}
	}
}

// A bzip2 bomb: concatenated 208-byte streams of 256 MiB of newlines each
// (ratio 1.3 million) stop at the ratio limit.
func TestBzip2Bomb(t *testing.T) {
	seed, err := os.ReadFile("testdata/newlines-256MiB.bz2")
	if err != nil {
		t.Fatal(err)
	}
	rc, comp, err := Open(bytes.NewReader(bytes.Repeat(seed, 40)))
	if err != nil || comp != Bzip2 {
		t.Fatal(comp, err)
	}
	defer rc.Close()
	n, err := io.Copy(io.Discard, rc)
	if !errors.Is(err, ErrLimit) || n > 2*RatioFloorBytes {
		t.Fatalf("read %d bytes, err %v", n, err)
	}
}

// pageHeader encodes a thrift compact PageHeader with a data page header.
func pageHeader(usize, csize, nvalues int64) []byte {
	zz := func(v int64) []byte { return binary.AppendUvarint(nil, uint64(v<<1^(v>>63))) }
	b := []byte{0x15}
	b = append(b, zz(0)...) // type
	b = append(b, 0x15)
	b = append(b, zz(usize)...)
	b = append(b, 0x15)
	b = append(b, zz(csize)...)
	b = append(b, 0x2c, 0x15) // data_page_header { num_values
	b = append(b, zz(nvalues)...)
	b = append(b, 0x00, 0x00) // } }
	return append(b, make([]byte, max(csize, 0))...)
}

// Page headers declaring more than the page can hold are refused before
// parquet-go allocates from them.
func TestCheckPages(t *testing.T) {
	for _, c := range []struct {
		usize, csize, nvalues int64
		ok                    bool
	}{
		{100, 50, 10, true},
		{1 << 20, 100, 20000, true},
		{1 << 28, 100, 10, false},   // 256 MiB from 100 bytes
		{40 << 20, 1000, 10, false}, // ratio beyond 1100 past 8 MiB
		{1000, 100, 1 << 30, false}, // 2^30 values
		{100, -1, 10, false},
	} {
		h := pageHeader(c.usize, c.csize, c.nvalues)
		err := checkPages(bytes.NewReader(h), 0, int64(len(h)))
		if (err == nil) != c.ok {
			t.Errorf("usize %d csize %d values %d: %v", c.usize, c.csize, c.nvalues, err)
		}
	}
	// a compressed size beyond the chunk
	h := pageHeader(100, 50, 10)
	if err := checkPages(bytes.NewReader(h), 0, int64(len(h)-1)); err == nil {
		t.Error("page beyond its chunk accepted")
	}
}
