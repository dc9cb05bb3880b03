package testobj

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"testing"

	"github.com/klauspost/compress/zstd"
)

func TestObjects(t *testing.T) {
	if b := ForgedParquetFooter(); len(b) != 69 || string(b[:4]) != "PAR1" || string(b[len(b)-4:]) != "PAR1" {
		t.Errorf("forged parquet footer: %d bytes %q", len(b), b)
	}
	zr, err := gzip.NewReader(bytes.NewReader(Gzip([]byte("abc"))))
	if err != nil {
		t.Fatal(err)
	}
	if b, err := io.ReadAll(zr); err != nil || string(b) != "abc" {
		t.Errorf("gzip round trip: %q %v", b, err)
	}
	zr, err = gzip.NewReader(bytes.NewReader(NewlineBomb(2)))
	if err != nil {
		t.Fatal(err)
	}
	if n, err := io.Copy(io.Discard, zr); err != nil || n != 2*10<<20 {
		t.Errorf("newline bomb of 2 members: %d bytes %v", n, err)
	}
	z := OverlapZip("m", []byte("x y\n"), 7)
	r, err := zip.NewReader(bytes.NewReader(z), int64(len(z)))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.File) != 7 {
		t.Fatalf("%d members, want 7", len(r.File))
	}
	for _, f := range r.File {
		if f.Name != "m" {
			t.Errorf("member %q", f.Name)
		}
	}
	zr2, err := zip.NewReader(bytes.NewReader(Zip("a", "1", "d/", "", "b", "2")), int64(len(Zip("a", "1", "d/", "", "b", "2"))))
	if err != nil || len(zr2.File) != 3 || zr2.File[2].Name != "b" {
		t.Fatalf("zip of members: %v", err)
	}
	d, err := zstd.NewReader(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if b, err := d.DecodeAll(Zstd([]byte("abc")), nil); err != nil || string(b) != "abc" {
		t.Errorf("zstd round trip: %q %v", b, err)
	}
	var v any
	if err := json.Unmarshal([]byte(DeepJSON(3)), &v); err != nil || DeepJSON(2) != `{"a":{"a":1}}` {
		t.Errorf("deep JSON: %s %v", DeepJSON(2), err)
	}
}
