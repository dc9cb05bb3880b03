package ioc

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/siemstream/siemstream/internal/doc"
	"github.com/siemstream/siemstream/internal/reload"
	"github.com/siemstream/siemstream/stages"
)

type field struct {
	name string
	path doc.Path
}

type logTypeFields struct {
	ip, domain []field
}

// Stage looks up the configured fields in the IoC index and writes
// threat.enrichments and threat.matched.
type Stage struct {
	holder  *reload.Holder[DB]
	fields  map[string]logTypeFields
	matched atomic.Uint64
	looked  atomic.Uint64 // documents with a value to look up (metrics)
	pool    sync.Pool     // *scratch
}

var _ stages.Reloader = (*Stage)(nil)

// New builds the stage. It does no I/O: call Check once at start-up to build
// the index before the first batch, and Run to follow feed changes.
func New(cfg Config, deps stages.Deps) (*Stage, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("ioc: %w", err)
	}
	cfg = cfg.withDefaults()
	s := &Stage{fields: map[string]logTypeFields{}}
	s.pool.New = func() any { return &scratch{} }
	for lt, f := range cfg.LogTypes {
		var lf logTypeFields
		for _, n := range f.IP {
			lf.ip = append(lf.ip, field{n, doc.ParsePath(n)})
		}
		for _, n := range f.Domain {
			lf.domain = append(lf.domain, field{n, doc.ParsePath(n)})
		}
		s.fields[lt] = lf
	}
	store, err := reload.OpenDir(cfg.Source, deps.S3)
	if err != nil {
		return nil, fmt.Errorf("ioc: %w", err)
	}
	log := deps.Log()
	s.holder = reload.New[DB]("ioc", &source{store: store, cfg: cfg, log: log}, cfg.ReloadInterval, log)
	return s, nil
}

// Name implements stages.Stage.
func (s *Stage) Name() string { return "ioc" }

// Check rebuilds the index now if the feeds changed (reload.Holder.Check).
func (s *Stage) Check(ctx context.Context) (bool, error) { return s.holder.Check(ctx) }

// Run follows feed changes until ctx is done.
func (s *Stage) Run(ctx context.Context) error { return s.holder.Run(ctx) }

// Status reports the holder.
func (s *Stage) Status() reload.Status { return s.holder.Status() }

// DB returns the index in use (nil before the first load).
func (s *Stage) DB() *DB { return s.holder.Load() }

// Matched is the number of documents that got threat.* so far.
func (s *Stage) Matched() uint64 { return s.matched.Load() }

// Lookups returns how many documents were looked up (had an IP or domain
// in a configured field) and how many of them matched, for metrics.
func (s *Stage) Lookups() (lookups, matches uint64) { return s.looked.Load(), s.matched.Load() }

type scratch struct {
	ips, domains []Value
	fields       []string
	inds         []*Indicator
	// events written by normalize's output plan (planned.go)
	rs     resolved
	threat []byte
	memo   v4memo
}

// Process implements stages.Stage.
func (s *Stage) Process(ctx context.Context, b *stages.Batch) error {
	db := s.DB()
	if db == nil {
		return nil
	}
	sc := s.pool.Get().(*scratch)
	defer s.pool.Put(sc)
	var n, looked uint64
	sc.rs = resolved{}
	if sc.memo.db != db { // a new index: forget what the old one said
		sc.memo = v4memo{db: db}
	}
	var (
		src *stages.Source // the events of a chunk share one: its fields are looked up once
		lf  logTypeFields
		ok  bool
	)
	for i := range b.Events {
		e := &b.Events[i]
		if e.Status != stages.Keep || e.Src == nil {
			continue
		}
		if e.Src != src {
			src = e.Src
			lf, ok = s.fields[src.LogType]
		}
		if !ok {
			continue
		}
		d := e.Doc
		if d == nil {
			if e.Marks != nil && e.Out != nil && b.Arena != nil {
				l, m := enrichOut(e, lf, db, b.Arena, sc)
				looked += l
				n += m
			}
			continue
		}
		sc.ips = collect(d, lf.ip, sc.ips[:0])
		sc.domains = collect(d, lf.domain, sc.domains[:0])
		if len(sc.ips)+len(sc.domains) == 0 {
			continue
		}
		looked++
		var res *Result
		res, sc.inds = db.enrich(sc.ips, sc.domains, sc.inds, &sc.memo)
		if res == nil {
			continue
		}
		Write(d, res)
		n++
	}
	if n > 0 {
		s.matched.Add(n)
	}
	if looked > 0 {
		s.looked.Add(looked)
	}
	return ctx.Err()
}

// collect gathers the string values of fields (a string or a list of
// strings each), one Value per distinct value in first-seen order with every
// field that holds it. out's old Fields slices are reused.
func collect(d *doc.Doc, fields []field, out []Value) []Value {
	for _, f := range fields {
		n := d.Find(f.path)
		switch d.Kind(n) {
		case doc.String:
			out = addValue(out, d.Bytes(n), f.name)
		case doc.Array:
			for c := d.First(n); c != doc.Nil; c = d.Next(c) {
				if d.Kind(c) == doc.String {
					out = addValue(out, d.Bytes(c), f.name)
				}
			}
		}
	}
	return out
}

func addValue(out []Value, v []byte, f string) []Value {
	return addValueStr(out, v, f, false, nil)
}

// addValueStr is addValue; view: the new Value's string views v instead of
// copying it (v outlives the Value); ip, when not nil, is v parsed as an
// address (stages.PlanMarks.Addr), for Enrich.
func addValueStr(out []Value, v []byte, f string, view bool, ip *netip.Addr) []Value {
	for i := range out {
		if out[i].Value == string(v) {
			if !slices.Contains(out[i].Fields, f) {
				out[i].Fields = append(out[i].Fields, f)
			}
			return out
		}
	}
	s := ""
	if view {
		s = unsafe.String(unsafe.SliceData(v), len(v))
	} else {
		s = string(v)
	}
	var x *Value
	if len(out) < cap(out) {
		out = out[:len(out)+1]
		x = &out[len(out)-1]
		x.Value = s
		x.Fields = append(x.Fields[:0], f)
	} else {
		out = append(out, Value{Value: s, Fields: []string{f}})
		x = &out[len(out)-1]
	}
	x.ip, x.ipKnown = netip.Addr{}, ip != nil
	if ip != nil {
		x.ip = *ip
	}
	return out
}

// Write sets threat.enrichments and threat.matched in the document: nested
// objects (es-loader writes literal dotted top-level keys "threat.enrichments"
// and "threat.matched"), with the matched lists sorted.
func Write(d *doc.Doc, res *Result) {
	threat := d.SetObject(d.Root(), "threat")
	arr := d.SetArray(threat, "enrichments")
	for _, e := range res.Enrichments {
		o := d.AppendObject(arr)
		ind := d.SetObject(o, "indicator")
		in := e.Indicator
		setStr(d, ind, "provider", in.Provider)
		setStr(d, ind, "name", in.Name)
		setStr(d, ind, "ip", e.IP)
		setStr(d, ind, "first_seen", in.FirstSeen)
		setStr(d, ind, "last_seen", in.LastSeen)
		setStr(d, ind, "modified_at", in.ModifiedAt)
		setStr(d, ind, "reference", in.Reference)
		setStr(d, ind, "type", in.Type)
		setStr(d, ind, "description", in.Description)
		m := d.SetObject(o, "matched")
		setStr(d, m, "atomic", e.Atomic)
		fa := d.SetArray(m, "field")
		for _, f := range e.Fields {
			d.AppendString(fa, f)
		}
	}
	mt := d.SetObject(threat, "matched")
	for _, l := range []struct {
		key  string
		vals []string
	}{{"providers", res.Matched.Providers}, {"types", res.Matched.Types}, {"indicators", res.Matched.Indicators}, {"names", res.Matched.Names}} {
		a := d.SetArray(mt, l.key)
		for _, v := range l.vals {
			d.AppendString(a, v)
		}
	}
}

func setStr(d *doc.Doc, obj doc.Node, key, v string) {
	if v != "" {
		d.SetString(obj, key, v)
	}
}
