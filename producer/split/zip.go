package split

import (
	"archive/zip"
	"bufio"
	"fmt"
	"io"
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

func openZip(r io.Reader, o OpenOptions) (io.ReadCloser, error) {
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
