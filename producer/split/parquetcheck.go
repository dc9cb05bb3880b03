package split

import (
	"encoding/binary"
	"fmt"
	"io"
)

// Bounds on what a Parquet file may declare. parquet-go allocates from the
// lengths a file declares (a list of 2^31 schema elements, a 4 GiB footer
// buffer, a page of 2 GiB) before it reads the data behind them, and an
// allocation that size is a fatal runtime error recover cannot catch. So
// the footer and every page header are walked here first, with their
// declared lengths checked against the bytes that are really there.
const (
	// maxParquetFooterBytes bounds the footer (file metadata).
	maxParquetFooterBytes = 16 << 20
	// maxParquetPageBytes bounds one page, compressed or not.
	maxParquetPageBytes = 256 << 20
	// A page's declared uncompressed size may exceed its compressed size
	// at most maxParquetPageRatio times, beyond parquetPageRatioFloor
	// (parquet-go allocates the declared size before decompressing;
	// writers cut pages at about 1 MiB).
	maxParquetPageRatio   = 1100
	parquetPageRatioFloor = 8 << 20
	// maxParquetPageValues bounds a page's declared value, null and row
	// counts: parquet-go allocates per declared value (up to 24 bytes
	// each) before decoding; writers cut pages at about 20,000 rows.
	maxParquetPageValues = 1 << 22
	// maxParquetSchema bounds the schema: elements and nesting.
	maxParquetSchema      = 100_000
	maxParquetSchemaDepth = 64
	// maxThriftDepth bounds struct nesting in a footer or page header
	// (Parquet's own structures are at most 6 deep).
	maxThriftDepth = 32
)

// Thrift compact protocol types.
const (
	tcBoolTrue  = 1
	tcBoolFalse = 2
	tcByte      = 3
	tcI16       = 4
	tcI32       = 5
	tcI64       = 6
	tcDouble    = 7
	tcBinary    = 8
	tcList      = 9
	tcSet       = 10
	tcMap       = 11
	tcStruct    = 12
	tcUUID      = 13
)

// thriftWalk walks one thrift compact-protocol struct in b without
// building it, checking that every declared length fits in what is left.
// ints receives every integer field with its path of field ids.
type thriftWalk struct {
	b     []byte
	i     int
	depth int
	path  []int16
	ints  func(path []int16, v int64)
	ends  func(path []int16) // a struct at path ended
}

var errThriftShort = fmt.Errorf("%w: thrift structure runs past its bytes", ErrParquet)

func (w *thriftWalk) byte() (byte, error) {
	if w.i >= len(w.b) {
		return 0, errThriftShort
	}
	c := w.b[w.i]
	w.i++
	return c, nil
}

func (w *thriftWalk) uvarint() (uint64, error) {
	v, n := binary.Uvarint(w.b[w.i:])
	if n <= 0 {
		if n == 0 {
			return 0, errThriftShort
		}
		return 0, fmt.Errorf("%w: thrift varint overflows", ErrParquet)
	}
	w.i += n
	return v, nil
}

func (w *thriftWalk) varint() (int64, error) {
	u, err := w.uvarint()
	return int64(u>>1) ^ -int64(u&1), err
}

func (w *thriftWalk) skip(n uint64) error {
	if n > uint64(len(w.b)-w.i) {
		return fmt.Errorf("%w: thrift length %d with %d bytes left", ErrParquet, n, len(w.b)-w.i)
	}
	w.i += int(n)
	return nil
}

func (w *thriftWalk) structure() error {
	w.depth++
	if w.depth > maxThriftDepth {
		return fmt.Errorf("%w: thrift structs nested deeper than %d", ErrParquet, maxThriftDepth)
	}
	var last int16
	for {
		h, err := w.byte()
		if err != nil {
			return err
		}
		if h == 0 {
			if w.ends != nil {
				w.ends(w.path)
			}
			w.depth--
			return nil
		}
		typ := h & 0x0f
		id := last + int16(h>>4)
		if h>>4 == 0 {
			v, err := w.varint()
			if err != nil {
				return err
			}
			id = int16(v)
		}
		last = id
		w.path = append(w.path, id)
		if err := w.value(typ, true); err != nil {
			return err
		}
		w.path = w.path[:len(w.path)-1]
	}
}

// value walks one value; a bool field carries its value in its type, a
// bool list element takes a byte.
func (w *thriftWalk) value(typ byte, field bool) error {
	switch typ {
	case tcBoolTrue, tcBoolFalse:
		if !field {
			_, err := w.byte()
			return err
		}
		return nil
	case tcByte:
		_, err := w.byte()
		return err
	case tcI16, tcI32, tcI64:
		v, err := w.varint()
		if err == nil && w.ints != nil && field {
			w.ints(w.path, v)
		}
		return err
	case tcDouble:
		return w.skip(8)
	case tcUUID:
		return w.skip(16)
	case tcBinary:
		n, err := w.uvarint()
		if err != nil {
			return err
		}
		return w.skip(n)
	case tcList, tcSet:
		h, err := w.byte()
		if err != nil {
			return err
		}
		n := uint64(h >> 4)
		if n == 15 {
			if n, err = w.uvarint(); err != nil {
				return err
			}
		}
		// every element takes at least one byte: a longer list is forged
		if n > uint64(len(w.b)-w.i) {
			return fmt.Errorf("%w: thrift list of %d elements in %d bytes", ErrParquet, n, len(w.b)-w.i)
		}
		for k := uint64(0); k < n; k++ {
			if err := w.value(h&0x0f, false); err != nil {
				return err
			}
		}
		return nil
	case tcMap:
		n, err := w.uvarint()
		if err != nil || n == 0 {
			return err
		}
		h, err := w.byte()
		if err != nil {
			return err
		}
		if n > uint64(len(w.b)-w.i)/2 {
			return fmt.Errorf("%w: thrift map of %d entries in %d bytes", ErrParquet, n, len(w.b)-w.i)
		}
		for k := uint64(0); k < n; k++ {
			if err := w.value(h>>4, false); err != nil {
				return err
			}
			if err := w.value(h&0x0f, false); err != nil {
				return err
			}
		}
		return nil
	case tcStruct:
		return w.structure()
	}
	return fmt.Errorf("%w: unknown thrift type %d", ErrParquet, typ)
}

func pathIs(p []int16, want ...int16) bool {
	if len(p) != len(want) {
		return false
	}
	for i := range p {
		if p[i] != want[i] {
			return false
		}
	}
	return true
}

// checkParquet checks a spooled Parquet file before parquet-go opens it:
// the footer length against the file, the footer's thrift (every list,
// string and map length against the bytes left, struct nesting, the
// schema's size and depth), every column chunk against the data area, and
// every page header of every chunk (its sizes against the chunk and
// maxParquetPageBytes). Anything else is left to parquet-go, whose
// errors and panics openParquet turns into ErrParquet.
func checkParquet(r io.ReaderAt, size int64) error {
	if size < 12 {
		return fmt.Errorf("%w: %d bytes is too short for a Parquet file", ErrParquet, size)
	}
	var tail [8]byte
	if _, err := r.ReadAt(tail[:], size-8); err != nil {
		return fmt.Errorf("%w: footer: %w", ErrParquet, err)
	}
	if string(tail[4:]) != "PAR1" {
		return fmt.Errorf("%w: no PAR1 magic at the end (encrypted or truncated file)", ErrParquet)
	}
	flen := int64(binary.LittleEndian.Uint32(tail[:4]))
	if flen > size-12 || flen > maxParquetFooterBytes {
		return fmt.Errorf("%w: footer of %d bytes in a file of %d bytes (limit %d)", ErrParquet, flen, size, maxParquetFooterBytes)
	}
	footer := make([]byte, flen)
	if _, err := r.ReadAt(footer, size-8-flen); err != nil {
		return fmt.Errorf("%w: footer: %w", ErrParquet, err)
	}
	dataEnd := size - 8 - flen
	type chunk struct{ data, dict, csize int64 }
	var (
		chunks   []chunk
		cur      chunk
		children []int64 // num_children of each schema element
		nc       int64
	)
	w := &thriftWalk{b: footer,
		ints: func(p []int16, v int64) {
			switch {
			case pathIs(p, 2, 5):
				nc = v
			case pathIs(p, 4, 1, 3, 9):
				cur.data = v
			case pathIs(p, 4, 1, 3, 11):
				cur.dict = v
			case pathIs(p, 4, 1, 3, 7):
				cur.csize = v
			}
		},
		ends: func(p []int16) {
			switch {
			case pathIs(p, 2):
				children = append(children, nc)
				nc = 0
			case pathIs(p, 4, 1):
				chunks = append(chunks, cur)
				cur = chunk{}
			}
		},
	}
	if err := w.structure(); err != nil {
		return fmt.Errorf("footer: %w", err)
	}
	if err := checkSchemaTree(children); err != nil {
		return err
	}
	for i, c := range chunks {
		start := c.data
		if c.dict > 0 && c.dict < start {
			start = c.dict
		}
		if start < 4 || c.csize < 0 || c.csize > dataEnd-start {
			return fmt.Errorf("%w: column chunk %d (offset %d, %d bytes) lies outside the data (%d bytes)", ErrParquet, i, start, c.csize, dataEnd)
		}
		if err := checkPages(r, start, start+c.csize); err != nil {
			return fmt.Errorf("column chunk %d: %w", i, err)
		}
	}
	return nil
}

// checkSchemaTree checks that the flattened schema (each element's
// num_children) forms one tree of bounded size and depth.
func checkSchemaTree(children []int64) error {
	if len(children) > maxParquetSchema {
		return fmt.Errorf("%w: schema of %d elements (limit %d)", ErrParquet, len(children), maxParquetSchema)
	}
	if len(children) == 0 {
		return fmt.Errorf("%w: empty schema", ErrParquet)
	}
	var open []int64 // children still expected, per open group
	for i, n := range children {
		if i > 0 {
			if len(open) == 0 {
				return fmt.Errorf("%w: schema element %d outside the root", ErrParquet, i)
			}
			open[len(open)-1]--
		}
		if n < 0 || n > int64(len(children)) {
			return fmt.Errorf("%w: schema element %d declares %d children", ErrParquet, i, n)
		}
		if n > 0 {
			open = append(open, n)
			if len(open) > maxParquetSchemaDepth {
				return fmt.Errorf("%w: schema nested deeper than %d", ErrParquet, maxParquetSchemaDepth)
			}
		}
		for len(open) > 0 && open[len(open)-1] == 0 {
			open = open[:len(open)-1]
		}
	}
	if len(open) > 0 {
		return fmt.Errorf("%w: schema declares more children than it has", ErrParquet)
	}
	return nil
}

// checkPages walks the page headers of one column chunk.
func checkPages(r io.ReaderAt, pos, end int64) error {
	buf := make([]byte, 0, 4096)
	for pos < end {
		var usize, csize, nvalues int64 = -1, -1, 0
		walk := func(b []byte) (int, error) {
			w := &thriftWalk{b: b, ints: func(p []int16, v int64) {
				switch {
				case pathIs(p, 2):
					usize = v
				case pathIs(p, 3):
					csize = v
				case len(p) == 2 && p[1] >= 1 && p[1] <= 3 && (p[0] == 5 || p[0] == 7 || p[0] == 8):
					nvalues = max(nvalues, v) // num_values, num_nulls, num_rows
				}
			}}
			err := w.structure()
			return w.i, err
		}
		// Page headers are small; statistics may make one larger: read
		// more only when the walk runs out of bytes.
		n := int64(4096)
		var hlen int
		for {
			n = min(n, end-pos)
			buf = buf[:n]
			if _, err := r.ReadAt(buf, pos); err != nil && err != io.EOF {
				return fmt.Errorf("%w: page header: %w", ErrParquet, err)
			}
			var err error
			hlen, err = walk(buf)
			if err == nil {
				break
			}
			if err != errThriftShort || n == end-pos || n >= maxParquetFooterBytes {
				return fmt.Errorf("page header at %d: %w", pos, err)
			}
			n *= 4
			if int64(cap(buf)) < n {
				buf = make([]byte, 0, min(n, end-pos))
			}
		}
		if csize < 0 || usize < 0 || csize > end-pos-int64(hlen) || csize > maxParquetPageBytes || usize > maxParquetPageBytes {
			return fmt.Errorf("%w: page at %d declares %d compressed / %d uncompressed bytes (%d left in the chunk, limit %d)",
				ErrParquet, pos, csize, usize, end-pos-int64(hlen), maxParquetPageBytes)
		}
		if usize > max(parquetPageRatioFloor, csize*maxParquetPageRatio) {
			return fmt.Errorf("%w: page at %d declares %d uncompressed bytes from %d compressed", ErrParquet, pos, usize, csize)
		}
		if nvalues < 0 || nvalues > maxParquetPageValues {
			return fmt.Errorf("%w: page at %d declares %d values (limit %d)", ErrParquet, pos, nvalues, maxParquetPageValues)
		}
		pos += int64(hlen) + csize
	}
	return nil
}
