package split

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/siemstream/siemstream/internal/testobj"
)

func gz(_ testing.TB, s string) []byte { return testobj.Gzip([]byte(s)) }

func zst(_ testing.TB, s string) []byte { return testobj.Zstd([]byte(s)) }

// parquetOK: the options of a log type whose objects may be Parquet.
var parquetOK = func() OpenOptions { o := DefaultOpenOptions(); o.Parquet = true; return o }()

func openSplit(t testing.TB, obj []byte, f Format) (got, Compression, error) {
	t.Helper()
	rc, c, err := OpenWith(bytes.NewReader(obj), parquetOK)
	if err != nil {
		return got{}, c, err
	}
	defer rc.Close()
	s, err := New(rc, f, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return drain(t, s), c, nil
}

func TestOpen(t *testing.T) {
	csv := Format{Kind: KindCSV}
	vpc := vpcHeader + "\n2 a\n2 b\n"
	bz, err := os.ReadFile("testdata/vpc-multistream.log.bz2")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		obj  []byte
		comp Compression
		want string
	}{
		{"plain", []byte(vpc), None, "1:2 a|2:2 b"},
		{"gzip", gz(t, vpc), Gzip, "1:2 a|2:2 b"},
		{"gzip multi-member", append(append(gz(t, vpcHeader+"\n2 a\n"), gz(t, "2 b\n")...), gz(t, "2 c")...), Gzip, "1:2 a|2:2 b|3:2 c"},
		{"gzip member boundary mid-line", append(gz(t, vpcHeader+"\n2 a\n2 "), gz(t, "b\n")...), Gzip, "1:2 a|2:2 b"},
		{"gzip empty member", append(gz(t, ""), gz(t, vpc)...), Gzip, "1:2 a|2:2 b"},
		{"zstd", zst(t, vpc), Zstd, "1:2 a|2:2 b"},
		{"zstd two frames", append(zst(t, vpcHeader+"\n2 a\n"), zst(t, "2 b\n")...), Zstd, "1:2 a|2:2 b"},
		{"bzip2 multi-stream", bz, Bzip2, "1:2 111|2:2 222|3:2 333"},
		{"empty object", nil, None, ""},
		{"gzip of empty", gz(t, ""), Gzip, ""},
		{"latin1 text", []byte("h\ncaf\xe9\n"), None, "1:caf\xe9"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g, comp, err := openSplit(t, tc.obj, csv)
			if err != nil {
				t.Fatal(err)
			}
			if comp != tc.comp {
				t.Fatalf("compression %q, want %q", comp, tc.comp)
			}
			if g.fatal != nil {
				t.Fatal(g.fatal)
			}
			if strings.Join(g.recs, "|") != tc.want {
				t.Fatalf("got %q want %q", g.recs, tc.want)
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	cases := []struct {
		name string
		obj  []byte
		want error
	}{
		{"binary", []byte("\x00\x01\x02\x03 not text"), ErrBinary},
		{"elf", []byte("\x7fELF\x02\x01\x01"), ErrBinary},
		{"zip not an archive", []byte("PK\x03\x04 broken"), ErrCorrupt},
		{"parquet without footer", []byte("PAR1\x15\x04"), ErrParquet},
		{"gzip in gzip", gz(t, string(gz(t, "hello\n"))), ErrNestedCompression},
		{"zstd in gzip", gz(t, string(zst(t, "hello\n"))), ErrNestedCompression},
		{"gzip of binary", gz(t, "\x00\x00\x00\x00"), ErrBinary},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rc, _, err := OpenWith(bytes.NewReader(tc.obj), parquetOK)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if rc != nil {
				t.Fatal("reader returned with error")
			}
		})
	}
	if _, _, err := Open(bytes.NewReader([]byte{0x1f, 0x8b, 0x08})); err == nil {
		t.Fatal("broken gzip header accepted")
	}
}

// A truncated gzip: the complete records before the cut come out, then a
// fatal error that says how far the splitter got.
func TestTruncatedGzip(t *testing.T) {
	var sb strings.Builder
	sb.WriteString(vpcHeader + "\n")
	for i := range 20000 {
		fmt.Fprintf(&sb, "2 123456789012 eni-%08x 10.0.0.%d 10.0.1.%d %d 443 6 1 40 1 2 ACCEPT OK\n", i*7919, i%256, i*31%256, i)
	}
	full := gz(t, sb.String())
	obj := full[:len(full)/2]
	g, comp, err := openSplit(t, obj, Format{Kind: KindCSV})
	if err != nil || comp != Gzip {
		t.Fatal(err, comp)
	}
	if !errors.Is(g.fatal, io.ErrUnexpectedEOF) {
		t.Fatalf("fatal = %v", g.fatal)
	}
	if len(g.recs) < 1000 || len(g.recs) >= 20000 {
		t.Fatalf("%d records before the cut", len(g.recs))
	}
	lines := strings.Split(sb.String(), "\n")[1:]
	for i, r := range g.recs {
		if want := fmt.Sprintf("%d:%s", i+1, lines[i]); r != want {
			t.Fatalf("record %d = %q want %q", i+1, r, want)
		}
	}
	if !strings.Contains(g.fatal.Error(), fmt.Sprintf("(%d returned)", len(g.recs))) {
		t.Fatalf("error %q does not report the count", g.fatal)
	}
	t.Logf("%d of 20000 records before: %v", len(g.recs), g.fatal)

	// Truncated inside the first bytes of the gzip body.
	g, _, err = openSplit(t, full[:30], Format{Kind: KindCSV})
	if err != nil {
		t.Fatal(err)
	}
	if g.fatal == nil {
		t.Fatal("no error for a 30-byte gzip")
	}
}

// Decompressor failures are ErrCorrupt (quarantine); failures of the
// source (S3 connection) are passed through unchanged (retry).
func TestCorruptVersusSourceError(t *testing.T) {
	var sb strings.Builder
	for i := range 50000 {
		fmt.Fprintf(&sb, "line %d %x\n", i, i*2654435761)
	}
	full := gz(t, sb.String())

	g, _, err := openSplit(t, full[:len(full)/2], Format{Kind: KindText})
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(g.fatal, ErrCorrupt) || !IsContentError(g.fatal) {
		t.Fatalf("truncated gzip: %v", g.fatal)
	}

	bad := bytes.Clone(full)
	bad[len(bad)-5] ^= 0xff // CRC/size trailer
	g, _, _ = openSplit(t, bad, Format{Kind: KindText})
	if !errors.Is(g.fatal, ErrCorrupt) {
		t.Fatalf("bad trailer: %v", g.fatal)
	}

	if _, _, err := Open(bytes.NewReader([]byte{0x1f, 0x8b, 0x09, 0x00, 0, 0, 0, 0, 0, 0})); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("bad gzip header: %v", err)
	}

	reset := errors.New("connection reset")
	rc, _, err := Open(&errReader{bytes.NewReader(full[:len(full)/2]), reset})
	if err != nil {
		t.Fatal(err)
	}
	s, _ := New(rc, Format{Kind: KindText}, Options{})
	g = drain(t, s)
	if !errors.Is(g.fatal, reset) || errors.Is(g.fatal, ErrCorrupt) || IsContentError(g.fatal) {
		t.Fatalf("source error: %v", g.fatal)
	}
	if IsContentError(io.EOF) || IsContentError(nil) || !IsContentError(&RecordError{Ordinal: 1, Err: ErrRecordTooLarge}) {
		t.Fatal("IsContentError")
	}
}
