package geoip

import (
	"bytes"
	"strings"
	"testing"

	"github.com/siemstream/siemstream/internal/doc"
	"github.com/siemstream/siemstream/stages"
)

// markedOut builds a planned document with source and destination
// entities holding ips, its marks as normalize's plan records them, and
// room bytes of capacity after it (filled with junk, which must not show).
func markedOut(t *testing.T, src, dst string, room int) (stages.Event, []entity) {
	t.Helper()
	var ents []entity
	names := &stages.MarkNames{}
	for _, n := range []string{"source", "destination"} {
		ents = append(ents, entity{name: n, ipName: n + ".ip", obj: doc.ParsePath(n), ip: doc.ParsePath(n + ".ip")})
		names.Paths = append(names.Paths, n, n+".ip")
	}
	var m stages.PlanMarks
	m.Names = names
	out := []byte(`{"a":"b"`)
	for i, ip := range []string{src, dst} {
		out = append(out, `,"`+names.Paths[2*i]+`":{"ip":"`...)
		m.Spans[2*i+1] = stages.MarkSpan{Kind: stages.MarkString, Off: int32(len(out)), End: int32(len(out) + len(ip))}
		out = append(out, ip+`","port":"1"`...)
		m.Spans[2*i] = stages.MarkSpan{Kind: stages.MarkObject, Off: int32(len(out))}
		out = append(out, '}')
	}
	out = append(out, `,"z":"y"}`...)
	buf := append(out, bytes.Repeat([]byte{'#'}, room)...)
	return stages.Event{Out: buf[:len(out)], Marks: &m}, ents
}

// enrichOut writes the same document and marks whether it splices in
// place (room after Out), copies (no room, or one byte short), or parses
// Out into a tree: the tree path's result decides.
func TestEnrichOutInPlaceEqualsCopyAndTree(t *testing.T) {
	db := mustDB(t, 1024)
	for _, ips := range [][2]string{
		{"81.2.69.142", "10.1.2.3"}, {"10.1.2.3", "81.2.69.142"}, {"81.2.69.142", "1.128.0.1"}, {"10.0.0.1", "10.0.0.2"},
	} {
		tree, ents := markedOut(t, ips[0], ips[1], 0)
		var a stages.Arena
		wl, wf := enrichParsed(&tree, ents, db, &a)
		need := 0
		for _, ip := range ips {
			if r := db.LookupString(ip); !r.Empty() {
				need += len(r.enc)
			}
		}
		for _, room := range []int{0, max(need-1, 0), need, need + 300} {
			e, ents := markedOut(t, ips[0], ips[1], room)
			var rs resolved
			l, f := enrichOut(&e, ents, db, &a, &rs)
			if l != wl || f != wf {
				t.Errorf("%v room %d: looked/found %d/%d, tree %d/%d", ips, room, l, f, wl, wf)
			}
			if !bytes.Equal(e.Out, tree.Out) {
				t.Errorf("%v room %d:\n got %s\nwant %s", ips, room, e.Out, tree.Out)
			}
			if strings.Contains(string(e.Out), "#") {
				t.Errorf("%v room %d: junk from the room in Out", ips, room)
			}
			// the marks still point at the values and the closing braces
			for k, sp := range e.Marks.Spans[:4] {
				switch sp.Kind {
				case stages.MarkString:
					if got := string(e.Out[sp.Off:sp.End]); got != ips[k/2] {
						t.Errorf("%v room %d: span %d = %q", ips, room, k, got)
					}
				case stages.MarkObject:
					if e.Out[sp.Off] != '}' {
						t.Errorf("%v room %d: span %d at %q", ips, room, k, e.Out[sp.Off:])
					}
				}
			}
		}
	}
}
