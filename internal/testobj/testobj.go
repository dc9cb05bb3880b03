// Package testobj builds S3 object bodies for the tests of several
// packages (producer/split, cmd/siemstream, internal/e2e): compressed
// bodies and the hostile inputs each layer must survive (decompression
// bombs, overlapping zip members, forged Parquet footers, deeply nested
// JSON). One home for each, so the splitter's unit tests, the normalize
// budget test and the end-to-end test attack with the same bytes.
//
// Writes go to an in-memory buffer and cannot fail, so no function takes
// a *testing.T or returns an error.
package testobj

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"strings"

	"github.com/klauspost/compress/zstd"
)

// Gzip returns b gzip-compressed at the default level.
func Gzip(b []byte) []byte { return GzipLevel(b, gzip.DefaultCompression) }

// GzipLevel returns b gzip-compressed at level (gzip.BestCompression ...).
func GzipLevel(b []byte, level int) []byte {
	var buf bytes.Buffer
	w, err := gzip.NewWriterLevel(&buf, level)
	if err != nil {
		panic(err) // an invalid level is a bug in the test
	}
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

// Zstd returns b as one zstd frame.
func Zstd(b []byte) []byte {
	e, err := zstd.NewWriter(nil)
	if err != nil {
		panic(err) // only options can fail
	}
	defer e.Close()
	return e.EncodeAll(b, nil)
}

// Zip is a zip archive of the members given as name, content pairs (a
// name ending in "/" with empty content is a directory entry).
func Zip(members ...string) []byte {
	var b bytes.Buffer
	w := zip.NewWriter(&b)
	for i := 0; i+1 < len(members); i += 2 {
		f, err := w.Create(members[i])
		if err != nil {
			panic(err) // an invalid name is a bug in the test
		}
		f.Write([]byte(members[i+1]))
	}
	w.Close()
	return b.Bytes()
}

// NewlineBomb is members concatenated gzip members of 10 MiB of newlines
// each (~10 KB each: a ratio of ~1000).
func NewlineBomb(members int) []byte {
	return bytes.Repeat(GzipLevel(bytes.Repeat([]byte("\n"), 10<<20), gzip.BestCompression), members)
}

// OverlapZip is David Fifield's overlapped-member zip bomb: a zip of one
// member (name, content) whose central-directory entry is repeated n times,
// every copy pointing at the same local header and deflate stream, so
// reading every member inflates content n times.
func OverlapZip(name string, content []byte, n int) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create(name)
	w.Write(content)
	zw.Close()
	good := buf.Bytes()
	// the end-of-central-directory record is the last 22 bytes (no comment)
	cdOff := binary.LittleEndian.Uint32(good[len(good)-6:])
	cd := good[cdOff : len(good)-22]
	var out bytes.Buffer
	out.Write(good[:cdOff])
	for range n {
		out.Write(cd)
	}
	end := append([]byte(nil), good[len(good)-22:]...)
	binary.LittleEndian.PutUint16(end[8:], uint16(n))
	binary.LittleEndian.PutUint16(end[10:], uint16(n))
	binary.LittleEndian.PutUint32(end[12:], uint32(n*len(cd)))
	binary.LittleEndian.PutUint32(end[16:], cdOff)
	out.Write(end)
	return out.Bytes()
}

// ForgedParquetFooter is a 69-byte file whose footer declares a schema
// list of 2^31-1 elements: parquet-go would allocate it (hundreds of GB, a
// fatal out-of-memory error no recover catches) before noticing the bytes
// are not there.
func ForgedParquetFooter() []byte {
	footer := []byte{0x15, 0x02, 0x19, 0xfc, 0xff, 0xff, 0xff, 0xff, 0x07}
	footer = append(footer, bytes.Repeat([]byte{0x18, 0x01, 'a', 0x00}, 12)...)
	b := append([]byte("PAR1"), footer...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(footer)))
	return append(b, "PAR1"...)
}

// DeepJSON is a JSON object nested depth deep: {"a":{"a":...1...}}.
func DeepJSON(depth int) string {
	return strings.Repeat(`{"a":`, depth) + "1" + strings.Repeat("}", depth)
}
