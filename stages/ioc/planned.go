package ioc

import (
	"net/netip"

	"github.com/siemstream/siemstream/internal/doc"
	"github.com/siemstream/siemstream/stages"
)

// Events written by normalize's output plan have no tree: their _source is
// already in Event.Out, and Event.Marks says where the configured fields'
// values are (stages.PlanMarks). enrichOut collects the same values collect
// would, in the same order, and on a match appends threat at the end of the
// document (in place when the plan's room after Out holds it), where Write
// puts it, encoded as encode encodes it (its strings
// all sit in arrays, out of the truncation rule's reach). When the marks
// cannot say (Out rewritten through a tree, fields they do not name), Out
// is parsed; when Out may hold a string the truncation rule cuts once the
// document grows, the parsed tree gets threat and is encoded again.

// resolved caches, for one plan's mark names, each field's span index.
type resolved struct {
	names      *stages.MarkNames
	ok         bool
	ip, domain [stages.MaxMarks]int8
}

func (rs *resolved) resolve(names *stages.MarkNames, lf logTypeFields) bool {
	if names == rs.names {
		return rs.ok
	}
	rs.names, rs.ok = names, false
	if len(lf.ip) > stages.MaxMarks || len(lf.domain) > stages.MaxMarks {
		return false
	}
	for i, f := range lf.ip {
		if rs.ip[i] = int8(names.Index(f.name)); rs.ip[i] < 0 {
			return false
		}
	}
	for i, f := range lf.domain {
		if rs.domain[i] = int8(names.Index(f.name)); rs.domain[i] < 0 {
			return false
		}
	}
	rs.ok = true
	return true
}

// enrichOut is Process's lookup and Write for an event with Marks; it
// returns whether the event had a value to look up and whether it matched.
func enrichOut(e *stages.Event, lf logTypeFields, db *DB, a *stages.Arena, sc *scratch) (looked, matched uint64) {
	m := e.Marks
	var d *doc.Doc
	defer func() {
		if d != nil {
			doc.Put(d)
		}
	}()
	parse := func() bool {
		d = doc.Get()
		return d.ParseObject(e.Out) == nil // always: Out is encode's JSON
	}
	if !m.Stale && sc.rs.resolve(m.Names, lf) {
		sc.ips = collectOut(e.Out, m, sc.rs.ip[:len(lf.ip)], lf.ip, sc.ips[:0])
		sc.domains = collectOut(e.Out, m, sc.rs.domain[:len(lf.domain)], lf.domain, sc.domains[:0])
		defer forget(sc.ips)
		defer forget(sc.domains)
	} else {
		if !parse() {
			return 0, 0
		}
		sc.ips = collect(d, lf.ip, sc.ips[:0])
		sc.domains = collect(d, lf.domain, sc.domains[:0])
	}
	if len(sc.ips)+len(sc.domains) == 0 {
		return 0, 0
	}
	var res *Result
	res, sc.inds = db.enrich(sc.ips, sc.domains, sc.inds, &sc.memo)
	if res == nil {
		return 1, 0
	}
	if m.Big {
		if d == nil && !parse() {
			return 1, 0
		}
		Write(d, res)
		out, truncated := d.AppendEncode(a.Free())
		e.Out = a.Keep(out)
		m.Stale, m.Big = true, !truncated
		return 1, 1
	}
	t := doc.Get()
	Write(t, res)
	sc.threat, _ = t.AppendEncode(sc.threat[:0]) // {"threat":{…}}
	doc.Put(t)
	if len(sc.threat) > 2 && len(e.Out) >= 2 {
		if n := len(e.Out); cap(e.Out)-n >= len(sc.threat)-1 {
			// in place, in the room the plan left after Out (PlanMarks)
			out := append(e.Out[:n-1], ',')
			e.Out = append(out, sc.threat[1:]...)
		} else {
			out := append(a.Free(), e.Out[:n-1]...)
			out = append(out, ',')
			out = append(out, sc.threat[1:]...)
			e.Out = a.Keep(out)
		}
	}
	return 1, 1
}

// collectOut is collect over marked values. The values view out, which
// stays as it is until the batch is reset (a rewrite of Out goes to new
// arena space), so they are not copied; enrichOut drops them before it
// returns (forget).
func collectOut(out []byte, m *stages.PlanMarks, idx []int8, fields []field, vals []Value) []Value {
	for i, f := range fields {
		switch sp := m.Spans[idx[i]]; sp.Kind {
		case stages.MarkString:
			var ip *netip.Addr // parsed by geoip
			if k := idx[i]; m.IsIPv4&(1<<k) != 0 {
				v := m.IPv4[k]
				a := netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
				ip = &a
			}
			vals = addValueStr(vals, out[sp.Off:sp.End], f.name, true, ip)
		case stages.MarkList:
			stages.ListElems(out[sp.Off:sp.End], func(v []byte) { vals = addValueStr(vals, v, f.name, true, nil) })
		}
	}
	return vals
}

// forget drops the values' views of Out, so the pooled scratch does not
// keep a batch's arena alive.
func forget(vals []Value) {
	for i := range vals {
		vals[i].Value = ""
	}
}
