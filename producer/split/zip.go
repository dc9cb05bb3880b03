package split

import (
	"archive/zip"
	"bufio"
	"fmt"
	"io"
	"sort"
	"strings"
)

// zipReader streams the members of a spooled zip archive one after the
// other.
type zipReader struct {
	sp     *spooled
	files  []*zip.File
	next   int
	cur    io.ReadCloser
	br     *bufio.Reader
	name   string
	lastNL bool // the last byte returned was '\n' (or nothing returned yet)
	pendNL bool // a '\n' is owed after the member just finished
	err    error
}

func openZip(r io.Reader, o OpenOptions) (*zipReader, error) {
	sp, err := spool(r, o)
	if err != nil {
		return nil, err
	}
	zr, err := zip.NewReader(sp, sp.size)
	if err != nil {
		sp.close()
		return nil, fmt.Errorf("%w: zip: %w", ErrCorrupt, err)
	}
	z := &zipReader{sp: sp, lastNL: true}
	for _, f := range zr.File {
		if strings.HasSuffix(f.Name, "/") || f.FileInfo().IsDir() {
			continue
		}
		z.files = append(z.files, f)
	}
	if err := checkZipLayout(z.files, sp.size, o); err != nil {
		sp.close()
		return nil, err
	}
	// Check the first member now, so a nested or binary archive is refused
	// by Open like any other object.
	if err := z.openNext(); err != nil {
		z.Close()
		return nil, err
	}
	return z, nil
}

// openNext opens the next member and checks its first bytes; at the end
// of the archive cur stays nil.
func (z *zipReader) openNext() error {
	if z.cur != nil {
		z.cur.Close()
		z.cur = nil
	}
	if z.next >= len(z.files) {
		return nil
	}
	f := z.files[z.next]
	z.next++
	rc, err := f.Open()
	if err != nil {
		return fmt.Errorf("%w: zip member %q: %w", ErrCorrupt, f.Name, err)
	}
	z.cur, z.name = rc, f.Name
	if z.br == nil {
		z.br = bufio.NewReaderSize(rc, 64<<10)
	} else {
		z.br.Reset(rc)
	}
	head, err := z.br.Peek(sniffLen)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return fmt.Errorf("%w: zip member %q: %w", ErrCorrupt, f.Name, err)
	}
	if n := lookup(head); n != nil {
		return fmt.Errorf("%w: %s inside zip member %q (double-compressed object; es-loader refuses it too)", ErrNestedCompression, n.name, f.Name)
	}
	if !isText(head) {
		return fmt.Errorf("%w: zip member %q", ErrBinary, f.Name)
	}
	return nil
}

func (z *zipReader) Read(p []byte) (int, error) {
	for {
		if z.err != nil {
			return 0, z.err
		}
		if len(p) == 0 {
			return 0, nil
		}
		if z.pendNL {
			z.pendNL = false
			p[0] = '\n'
			z.lastNL = true
			return 1, nil
		}
		if z.cur == nil {
			z.err = io.EOF
			return 0, io.EOF
		}
		n, err := z.br.Read(p)
		if n > 0 {
			z.lastNL = p[n-1] == '\n'
			return n, nil
		}
		if err == io.EOF {
			z.pendNL = !z.lastNL
			if oerr := z.openNext(); oerr != nil {
				z.err = oerr
			}
			continue
		}
		if err != nil {
			z.err = fmt.Errorf("%w: zip member %q: %w", ErrCorrupt, z.name, err)
			return 0, z.err
		}
	}
}

func (z *zipReader) Close() error {
	if z.cur != nil {
		z.cur.Close()
		z.cur = nil
	}
	if z.sp != nil {
		err := z.sp.close()
		z.sp = nil
		return err
	}
	return nil
}

// checkZipLayout refuses archives whose members share compressed bytes (the
// overlapping-member bomb: one deflate stream referenced by thousands of
// central-directory entries, so 1 MB reads as a TiB) or reach beyond the
// archive, and archives whose declared content exceeds the decompressed
// limit. Declared sizes can lie, but archive/zip checks them against what
// the member really holds, and the budget reader cuts what they hide.
func checkZipLayout(files []*zip.File, size int64, o OpenOptions) error {
	type span struct {
		off, end int64
		name     string
	}
	spans := make([]span, 0, len(files))
	var declared uint64
	for _, f := range files {
		off, err := f.DataOffset()
		if err != nil {
			return fmt.Errorf("%w: zip member %q: %w", ErrCorrupt, f.Name, err)
		}
		end := off + int64(f.CompressedSize64)
		if f.CompressedSize64 > uint64(size) || end > size || off < 0 {
			return fmt.Errorf("%w: zip member %q extends beyond the archive (%d bytes)", ErrCorrupt, f.Name, size)
		}
		spans = append(spans, span{off, end, f.Name})
		declared += f.UncompressedSize64
	}
	if declared > uint64(o.MaxDecompressedBytes) {
		return fmt.Errorf("%w: zip members declare %d bytes, more than %d (max decompressed bytes)", ErrLimit, declared, o.MaxDecompressedBytes)
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].off < spans[j].off })
	for i := 1; i < len(spans); i++ {
		if spans[i].off < spans[i-1].end {
			return fmt.Errorf("%w: zip members %q and %q overlap (a zip bomb)", ErrLimit, spans[i-1].name, spans[i].name)
		}
	}
	return nil
}
