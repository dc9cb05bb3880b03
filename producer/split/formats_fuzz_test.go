package split

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/siemstream/siemstream/internal/testobj"
	"github.com/siemstream/siemstream/internal/wire"
)

// FuzzSplitMultiline: never panics or loops, records are bounded, start
// with a first line, and (with no size limit hit) the records plus the
// dropped lines account for every non-blank line.
func FuzzSplitMultiline(f *testing.F) {
	f.Add([]byte("2024-a\n x\n2024-b\n"), uint8(0))
	f.Add([]byte("junk\n<Event xmlns='x'>\n</Event>\ntail\n"), uint8(1))
	f.Add([]byte("\r\n2024-\r\n\r\n"), uint8(2))
	first := regexp.MustCompile(`^2024-`)
	evFirst, evLast := regexp.MustCompile(`^<Event xmlns=`), regexp.MustCompile(`</Event>$`)
	f.Fuzz(func(t *testing.T, in []byte, mode uint8) {
		fm := Format{Kind: KindMultiline, FirstLine: first}
		if mode%2 == 1 {
			fm = Format{Kind: KindMultiline, FirstLine: evFirst, LastLine: evLast}
		}
		o := Options{MaxRecordBytes: 64 + int(mode)*16, BufferSize: 16}
		recs, _, fatal := collect(t, in, fm, o)
		if fatal != nil {
			t.Fatal(fatal)
		}
		for _, r := range recs {
			if !fm.FirstLine.Match(bytes.SplitN(r, []byte("\n"), 2)[0]) {
				t.Fatalf("record does not start with a first line: %q", r)
			}
			if len(r) > o.MaxRecordBytes {
				t.Fatalf("record of %d bytes, more than MaxRecordBytes %d", len(r), o.MaxRecordBytes)
			}
		}
	})
}

// FuzzSplitCWL: never panics or loops; every record parses back.
func FuzzSplitCWL(f *testing.F) {
	f.Add([]byte(`{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"g","logStream":"s","logEvents":[{"id":"1","timestamp":2,"message":"m"}]}`))
	f.Add([]byte(`{"messageType":"CONTROL_MESSAGE","logEvents":[]}{"messageType":"DATA_MESSAGE","logEvents":[{"id":3,"message":"a\nb"}]}`))
	f.Add([]byte(`[{"messageType":"DATA_MESSAGE"}]`))
	f.Fuzz(func(t *testing.T, in []byte) {
		recs, _, _ := collect(t, in, Format{Kind: KindCWL}, Options{MaxRecordBytes: 256})
		for _, r := range recs {
			if _, _, _, err := wire.ParseCWLRecord(r); err != nil {
				t.Fatalf("record %q does not parse back: %v", r, err)
			}
		}
	})
}

// FuzzOpen: any object either fails to open or reads to an end without
// panicking (zip, parquet and compressed inputs included).
func FuzzOpen(f *testing.F) {
	f.Add(zipOf(f, "a", "x\n", "b", "y"))
	f.Add(gz(f, "hello\n"))
	f.Add(parquetOf(f, pqRows(3), 2))
	f.Add([]byte("PAR1"))
	f.Add([]byte("PK\x05\x06" + strings.Repeat("\x00", 18)))
	// the hostile classes: a forged footer, overlapping zip members,
	// bombs, CR line ends
	f.Add(testobj.ForgedParquetFooter())
	f.Add(testobj.GzipLevel(testobj.ForgedParquetFooter(), 6))
	f.Add(testobj.OverlapZip("kernel", bytes.Repeat([]byte("x y\n"), 1<<16), 3))
	f.Add(testobj.GzipLevel(bytes.Repeat([]byte("\n"), 1<<16), 9))
	f.Add([]byte("a b\rc d\r"))
	if bz, err := os.ReadFile("testdata/newlines-256MiB.bz2"); err == nil {
		f.Add(bytes.Repeat(bz, 2))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, pq := range []bool{false, true} {
			o := OpenOptions{MemSpoolBytes: 1 << 20, MaxSpoolBytes: 1 << 20, MaxDecompressedBytes: 4 << 20, Parquet: pq}
			rc, _, err := OpenWith(bytes.NewReader(in), o)
			if err != nil {
				continue
			}
			n, err := io.Copy(io.Discard, io.LimitReader(rc, 8<<20))
			rc.Close()
			if n > o.MaxDecompressedBytes {
				t.Fatalf("read %d bytes, limit %d (%v)", n, o.MaxDecompressedBytes, err)
			}
		}
	})
}

// FuzzParquetCheck: the footer/page-header walk never panics, and what
// it lets through parquet-go opens without a fatal error.
func FuzzParquetCheck(f *testing.F) {
	f.Add(parquetOf(f, pqRows(3), 2))
	f.Add(testobj.ForgedParquetFooter())
	f.Add([]byte("PAR1\x00\x00\x00\x00PAR1"))
	f.Fuzz(func(t *testing.T, in []byte) {
		if checkParquet(bytes.NewReader(in), int64(len(in))) != nil {
			return
		}
		rc, err := openParquet(bytes.NewReader(in), OpenOptions{MemSpoolBytes: 1 << 20, MaxSpoolBytes: 1 << 20}, nil)
		if err != nil {
			return
		}
		io.Copy(io.Discard, io.LimitReader(rc, 4<<20))
		rc.Close()
	})
}

// FuzzSplitFirelens: never panics or loops; every record parses back.
func FuzzSplitFirelens(f *testing.F) {
	f.Add([]byte(`{"log":"GET /","container_id":"c","container_name":"n","source":"stdout","ecs_cluster":"e"}` + "\n" + `{"log":"x"}`))
	f.Add([]byte("{\"log\":\"a\"}\r{\"log\":\"b\"}\r\n\n[1]\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		recs, _, _ := collect(t, in, Format{Kind: KindFirelens}, Options{MaxRecordBytes: 256, BufferSize: 16})
		for _, r := range recs {
			if _, _, _, err := wire.ParseFirelensRecord(r); err != nil {
				t.Fatalf("record %q does not parse back: %v", r, err)
			}
		}
	})
}

func multilineObject(n int) []byte {
	var b bytes.Buffer
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "2025-03-14 10:00:%02d ERROR request %d failed\n  at com.example.Foo.bar(Foo.java:%d)\n  at com.example.Main.main(Main.java:1)\n", i%60, i, i)
	}
	return b.Bytes()
}

func winevtObject(n int) []byte {
	var b bytes.Buffer
	b.WriteString("<Events>\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'>\n<System><Provider Name='Microsoft-Windows-Security-Auditing'/><EventID>4624</EventID><EventRecordID>%d</EventRecordID><Channel>Security</Channel></System>\n<EventData><Data Name='SubjectUserName'>user%d</Data><Data Name='LogonType'>3</Data></EventData>\n</Event>\n", i, i)
	}
	b.WriteString("</Events>\n")
	return b.Bytes()
}

func cwlObject(payloads, events int) []byte {
	var b bytes.Buffer
	for p := 0; p < payloads; p++ {
		fmt.Fprintf(&b, `{"messageType":"DATA_MESSAGE","owner":"123456789012","logGroup":"/aws/lambda/f","logStream":"2025/03/14/[$LATEST]abc","subscriptionFilters":["s"],"logEvents":[`)
		for e := 0; e < events; e++ {
			if e > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"id":"3612%010d","timestamp":1741946400%03d,"message":"{\"level\":\"INFO\",\"msg\":\"request %d handled\",\"path\":\"/api/v1/items\"}"}`, p*events+e, e%1000, e)
		}
		b.WriteString("]}")
	}
	return b.Bytes()
}

func BenchmarkSplitMultiline(b *testing.B) {
	raw := multilineObject(20000)
	benchSplit(b, raw, len(raw), Format{Kind: KindMultiline, FirstLine: regexp.MustCompile(`^\d{4}-\d{2}-\d{2} `)}, 20000)
}

func BenchmarkSplitWinEvtXML(b *testing.B) {
	raw := winevtObject(10000)
	benchSplit(b, raw, len(raw), Format{Kind: KindMultiline, FirstLine: regexp.MustCompile(`^<Event xmlns=`), LastLine: regexp.MustCompile(`</Event>$`)}, 10000)
}

func BenchmarkSplitCWLGzip(b *testing.B) {
	raw := cwlObject(100, 200)
	benchSplit(b, testobj.Gzip(raw), len(raw), Format{Kind: KindCWL}, 20000)
}

func BenchmarkSplitZip(b *testing.B) {
	raw := vpcObject(50000)
	half := bytes.Index(raw[len(raw)/2:], []byte("\n")) + len(raw)/2 + 1
	obj := zipOf(b, "a.log", string(raw[:half]), "b.log", string(raw[half:]))
	benchSplit(b, obj, len(raw), Format{Kind: KindText}, 50001)
}

func BenchmarkSplitParquet(b *testing.B) {
	rows := pqRows(20000)
	obj := parquetOf(b, rows, 5000)
	// raw size: the JSON lines produced
	rc, _, err := Open(bytes.NewReader(obj))
	if err != nil {
		b.Fatal(err)
	}
	n, _ := io.Copy(io.Discard, rc)
	rc.Close()
	benchSplit(b, obj, int(n), Format{Kind: KindCSV}, 20000)
}
