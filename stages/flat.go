package stages

import "github.com/siemstream/siemstream/internal/doc"

// Flat is a record decode split into its top-level fields without building
// its tree (Event.Doc nil, Event.Flat set): for a log type whose documents
// normalize's output plan writes (decode.Config.Flat), the plan reads the
// field values straight from the raw record. A record the plan cannot take
// gets the tree decode would have built (Tree), so the tree path sees
// exactly what it sees without flat records.
//
// Every field is a string (a span of Line) or null, and the keys are
// distinct: what decode's text (log_pattern groups) and whitespace-split
// CSV decoders produce. Line aliases Event.Raw, so a Flat lives as long as
// its batch; it is held in the batch's Arena.
type Flat struct {
	// Keys are the record's keys: the first N() of Keys.Names.
	Keys *FlatKeys
	// Line is the text the offsets index (Event.Raw, stripped).
	Line []byte
	// Offs holds two offsets per field, start and end in Line; a start of
	// FlatNull is a null value (a log_pattern group that did not take part).
	Offs []uint16
}

// FlatNull is the start offset of a null field.
const FlatNull = 0xffff

// FlatMaxLine: lines this long or longer are not decoded flat (their
// offsets would not fit).
const FlatMaxLine = FlatNull

// FlatKeys are the keys of flat records, shared by every record with the
// same keys (one CSV header, one log_pattern): normalize compiles one plan
// per FlatKeys and field count. Never modified once a Flat points to it.
type FlatKeys struct {
	Names  []string
	Hashes []uint32 // doc.HashKey of each name
}

// N is the number of fields.
func (f *Flat) N() int { return len(f.Offs) / 2 }

// Field returns field i and whether it is null (then b is nil).
func (f *Flat) Field(i int) (b []byte, null bool) {
	a := f.Offs[2*i]
	if a == FlatNull {
		return nil, true
	}
	return f.Line[a:f.Offs[2*i+1]], false
}

// Tree appends the record's fields to d, a fresh document, as decode's
// tree path does for the same record: one root member per field, in order.
func (f *Flat) Tree(d *doc.Doc) {
	for i := range f.N() {
		name, h := f.Keys.Names[i], f.Keys.Hashes[i]
		if b, null := f.Field(i); null {
			d.AddRootNull(name, h)
		} else {
			d.AddRootStringBytes(name, h, b)
		}
	}
}

// flatChunk is the size of the Arena's offset chunks.
const flatChunk = 16 << 10

// Flat returns a zero Flat with room for n fields' offsets that lives until
// Reset.
func (a *Arena) Flat(n int) *Flat {
	s := a.nflat / envSlab
	if s == len(a.flats) {
		a.flats = append(a.flats, new([envSlab]Flat))
	}
	f := &a.flats[s][a.nflat%envSlab]
	a.nflat++
	if len(a.offs) == 0 {
		a.offs = append(a.offs, make([]uint16, 0, max(flatChunk, 2*n)))
	}
	c := a.offs[a.ocur]
	for cap(c)-len(c) < 2*n { // the next chunk; the Flats handed out keep theirs
		a.ocur++
		if a.ocur == len(a.offs) {
			a.offs = append(a.offs, make([]uint16, 0, max(flatChunk, 2*n)))
		}
		c = a.offs[a.ocur]
	}
	k := len(c)
	a.offs[a.ocur] = c[:k+2*n]
	*f = Flat{Offs: c[k : k+2*n : k+2*n]}
	return f
}

// resetFlats forgets the Flats, keeping slabs and chunks; used Flats are
// zeroed so they pin no record buffer.
func (a *Arena) resetFlats() {
	for i := range a.nflat {
		a.flats[i/envSlab][i%envSlab] = Flat{}
	}
	a.nflat = 0
	for i := range a.offs {
		a.offs[i] = a.offs[i][:0]
	}
	a.ocur = 0
}
