package split

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
)

// ErrParquet: a parquet object cannot be read (bad footer, a schema or
// column type that cannot be turned into JSON).
var ErrParquet = errors.New("split: unreadable parquet")

// parquetReader turns the rows of a spooled parquet file into
// newline-delimited JSON objects, one row group at a time, so memory is
// bounded by a row group's pages rather than the file.
//
// A row becomes a JSON object with its columns in schema order; nulls are
// left out (es-loader: pandas dropna per row); timestamps are written as
// Python's isoformat ("2024-01-02T03:04:05.123456+00:00"), as es-loader's
// clean_dict does; lists and nested groups become arrays and objects
// (nested members in name order). Rows are JSON, not es-loader's
// str(dict) Python repr: decode parses them as JSON, and normalize makes
// @message from that (a deliberate difference, see the report).
type parquetReader struct {
	sp     *spooled
	f      *parquet.File
	groups []parquet.RowGroup
	gi     int
	rr     *parquet.Reader
	fields []string
	conv   []func(any) any // per top-level field; nil: as read
	row    int64
	buf    bytes.Buffer
	closeF func() error // decompressor of the outer layer, if any
	err    error
}

func openParquet(r io.Reader, o OpenOptions, outerClose func() error) (rc *parquetReader, err error) {
	closeOuter := func() {
		if outerClose != nil {
			outerClose()
		}
	}
	sp, err := spool(r, o)
	if err != nil {
		closeOuter()
		return nil, err
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: %v", ErrParquet, p)
		}
		if err != nil {
			sp.close()
			closeOuter()
		}
	}()
	if err := checkParquet(sp, sp.size); err != nil {
		return nil, err
	}
	// The page index and bloom filters are not needed to read rows, and
	// would be more file-declared lengths to check.
	f, err := parquet.OpenFile(sp, sp.size, parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrParquet, err)
	}
	schema := f.Schema()
	if schema == nil || len(schema.Fields()) == 0 {
		return nil, fmt.Errorf("%w: the schema has no columns", ErrParquet)
	}
	pr := &parquetReader{sp: sp, f: f, groups: f.RowGroups(), closeF: outerClose}
	for _, fl := range schema.Fields() {
		pr.fields = append(pr.fields, fl.Name())
		pr.conv = append(pr.conv, leafConv(fl))
	}
	return pr, nil
}

func (p *parquetReader) Read(b []byte) (n int, err error) {
	for p.buf.Len() == 0 {
		if p.err != nil {
			return 0, p.err
		}
		if err := p.fill(); err != nil {
			p.err = err
		}
	}
	return p.buf.Read(b)
}

// fill converts the next row into buf.
func (p *parquetReader) fill() (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: row %d: %v", ErrParquet, p.row+1, r)
		}
	}()
	for {
		if p.rr == nil {
			if p.gi >= len(p.groups) {
				return io.EOF
			}
			p.rr = parquet.NewRowGroupReader(p.groups[p.gi])
			p.gi++
		}
		m := map[string]any{}
		if err := p.rr.Read(&m); err != nil {
			p.rr.Close()
			p.rr = nil
			if err == io.EOF {
				continue
			}
			return fmt.Errorf("%w: row %d: %w", ErrParquet, p.row+1, err)
		}
		p.row++
		return p.writeRow(m)
	}
}

func (p *parquetReader) writeRow(m map[string]any) error {
	p.buf.WriteByte('{')
	first := true
	for i, name := range p.fields {
		v, ok := m[name]
		if !ok || v == nil {
			continue
		}
		if c := p.conv[i]; c != nil {
			v = c(v)
		}
		v = jsonValue(v)
		if v == nil { // NaN: pandas dropna drops it too
			continue
		}
		if !first {
			p.buf.WriteByte(',')
		}
		first = false
		k, _ := json.Marshal(name)
		p.buf.Write(k)
		p.buf.WriteByte(':')
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("%w: row %d column %q: %w", ErrParquet, p.row, name, err)
		}
		p.buf.Write(b)
	}
	p.buf.WriteString("}\n")
	return nil
}

// leafConv converts top-level TIMESTAMP and DATE columns, which the map
// reader returns as integers, to what pandas + clean_dict produce:
// isoformat strings (with "+00:00" when isAdjustedToUTC) and "YYYY-MM-DD".
// Such columns inside nested groups stay integers (documented limitation).
func leafConv(fl parquet.Field) func(any) any {
	if !fl.Leaf() {
		return nil
	}
	lt := fl.Type().LogicalType()
	if lt == nil {
		return nil
	}
	switch t := lt.Value.(type) {
	case *format.TimestampType:
		unit := time.Microsecond
		if t.Unit.Value != nil {
			unit = t.Unit.Value.Duration()
		}
		utc := t.IsAdjustedToUTC
		return func(v any) any {
			n, ok := v.(int64)
			if !ok {
				return v
			}
			var tm time.Time
			switch unit {
			case time.Millisecond:
				tm = time.UnixMilli(n)
			case time.Nanosecond:
				tm = time.Unix(0, n)
			default:
				tm = time.UnixMicro(n)
			}
			s := pyISOFormat(tm.UTC())
			if !utc {
				s = s[:len(s)-len("+00:00")]
			}
			return s
		}
	case *format.DateType:
		return func(v any) any {
			n, ok := v.(int32)
			if !ok {
				return v
			}
			return time.Unix(int64(n)*86400, 0).UTC().Format("2006-01-02")
		}
	}
	return nil
}

// jsonValue makes v JSON-friendly the way es-loader's clean_dict does.
func jsonValue(v any) any {
	switch x := v.(type) {
	case time.Time:
		return pyISOFormat(x)
	case []byte:
		return string(x)
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil
		}
	case float32:
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return nil
		}
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = jsonValue(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = jsonValue(e)
		}
		return out
	}
	return v
}

// pyISOFormat is Python's datetime.isoformat() of an aware datetime.
func pyISOFormat(t time.Time) string {
	layout := "2006-01-02T15:04:05"
	if t.Nanosecond()/1000 != 0 {
		layout += ".000000"
	}
	return t.Format(layout) + t.Format("-07:00")
}

func (p *parquetReader) Close() error {
	if p.rr != nil {
		p.rr.Close()
		p.rr = nil
	}
	if p.closeF != nil {
		p.closeF()
		p.closeF = nil
	}
	if p.sp != nil {
		err := p.sp.close()
		p.sp = nil
		return err
	}
	return nil
}
