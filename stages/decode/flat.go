package decode

import (
	"unicode/utf8"

	"github.com/siemstream/siemstream/internal/doc"
	"github.com/siemstream/siemstream/schemas"
	"github.com/siemstream/siemstream/stages"
)

// Flat records (Config.Flat): for a log type whose documents normalize's
// output plan writes, decode splits a record into Event.Flat, offsets into
// the raw record, instead of building its tree, which the plan would only
// read values from. The split is decode's own (pyFields for CSV, the
// log_pattern match for text), so a flat record's fields are exactly the
// tree's: stages.Flat.Tree builds the same tree for a record the plan does
// not take. A record that cannot be decoded fails here with the error the
// tree path gives it.

// flatType reports whether lt's records can be decoded flat: text with a
// log_pattern of distinct group names, or CSV split on whitespace with a
// header of distinct names (the tree then gets one member per field, in
// order, which is what a Flat holds).
func flatType(lt *schemas.LogType, hdrDup bool) bool {
	if lt.ViaCWL || lt.ViaFirelens {
		return false
	}
	switch lt.FileFormat {
	case schemas.FormatCSV:
		return lt.CSVDelimiter == "" && !hdrDup
	case schemas.FormatText:
		if lt.LogPattern == nil {
			return true // every record fails, as on the tree path
		}
		p := planFor(lt.LogPattern)
		return p.unique && len(p.names) == len(lt.LogPatternNames)
	}
	return false
}

// decodeFlat decodes e into e.Flat. done is false when the record needs
// the tree path instead (e is untouched); when done, err is the record's
// error, exactly the tree path's.
func (sc *scratch) decodeFlat(lt *schemas.LogType, e *stages.Event) (done bool, err error) {
	if lt.FileFormat == schemas.FormatCSV && sc.hdrErr != nil {
		e.Env = nil
		return true, sc.hdrErr
	}
	if !utf8.Valid(e.Raw) {
		return false, nil // the tree path decodes a cleaned copy
	}
	line := pyStrip(e.Raw)
	if len(line) >= stages.FlatMaxLine {
		return false, nil
	}
	var f *stages.Flat
	if lt.FileFormat == schemas.FormatCSV {
		sc.fields = pyFields(sc.fields[:0], line)
		n := min(len(sc.header), len(sc.fields))
		f = sc.batch.Arena.Flat(n)
		f.Keys = sc.hdrKeys
		for i, b := range sc.fields[:n] {
			// b is line[a:z] (pyFields slices, never copies): its
			// capacity says where it starts
			a := uint16(cap(line) - cap(b))
			f.Offs[2*i], f.Offs[2*i+1] = a, a+uint16(len(b))
		}
	} else {
		m, plan, err := matchText(lt, line, schemas.FormatText, &sc.ms)
		if err != nil {
			e.Env = nil
			return true, err
		}
		f = sc.batch.Arena.Flat(len(plan.groups))
		f.Keys = plan.keys
		for i, g := range plan.groups {
			if a := m[2*g]; a >= 0 {
				f.Offs[2*i], f.Offs[2*i+1] = uint16(a), uint16(m[2*g+1])
			} else {
				f.Offs[2*i], f.Offs[2*i+1] = stages.FlatNull, stages.FlatNull
			}
		}
	}
	f.Line = line
	e.Env = nil
	e.Flat = f
	if e.Doc != nil { // a tree from before: Flat is the record now
		doc.Put(e.Doc)
		e.Doc = nil
	}
	return true, nil
}
