package geoip

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"

	"github.com/siemstream/siemstream/internal/doc"
	"github.com/siemstream/siemstream/internal/pyjson"
	"github.com/siemstream/siemstream/internal/reload"
	"github.com/siemstream/siemstream/stages"
)

// entity is one configured object: where its address is read and which
// top-level member gets geo/as.
type entity struct {
	name, ipName string // "<entity>", "<entity>.ip": their names in stages.PlanMarks
	obj          doc.Path
	ip           doc.Path
}

// Stage enriches "<entity>.ip" with "<entity>.geo" and "<entity>.as".
type Stage struct {
	holder   *reload.Holder[DB]
	entities map[string][]entity
	// lookups and matches count IP addresses looked up and found, added
	// once per batch (metrics).
	lookups, matches atomic.Uint64
}

var _ stages.Reloader = (*Stage)(nil)

// New builds the stage. It does no I/O: call Check once at start-up to load
// the databases before the first batch, and Run to follow updates.
func New(cfg Config, deps stages.Deps) (*Stage, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("geoip: %w", err)
	}
	cfg = cfg.withDefaults()
	s := &Stage{entities: map[string][]entity{}}
	for lt, names := range cfg.Entities {
		for _, n := range names {
			s.entities[lt] = append(s.entities[lt], entity{name: n, ipName: n + ".ip", obj: doc.ParsePath(n), ip: doc.ParsePath(n + ".ip")})
		}
	}
	store, err := reload.OpenDir(cfg.Source, deps.S3)
	if err != nil {
		return nil, fmt.Errorf("geoip: %w", err)
	}
	s.holder = reload.New[DB]("geoip", &source{store: store, cfg: cfg}, cfg.ReloadInterval, deps.Log())
	return s, nil
}

// Name implements stages.Stage.
func (s *Stage) Name() string { return "geoip" }

// Check loads the databases now if they changed (reload.Holder.Check).
func (s *Stage) Check(ctx context.Context) (bool, error) { return s.holder.Check(ctx) }

// Run follows database updates until ctx is done.
func (s *Stage) Run(ctx context.Context) error { return s.holder.Run(ctx) }

// Status reports the holder.
func (s *Stage) Status() reload.Status { return s.holder.Status() }

// DB returns the databases in use (nil before the first load).
func (s *Stage) DB() *DB { return s.holder.Load() }

// Process implements stages.Stage.
func (s *Stage) Process(ctx context.Context, b *stages.Batch) error {
	db := s.DB()
	if db == nil {
		return nil
	}
	var looked, found uint64
	var rs resolved
	var (
		src  *stages.Source // the events of a chunk share one: its entities are looked up once
		ents []entity
	)
	for i := range b.Events {
		e := &b.Events[i]
		if e.Status != stages.Keep || e.Src == nil {
			continue
		}
		if e.Src != src {
			src, ents = e.Src, s.entities[e.Src.LogType]
		}
		switch {
		case len(ents) == 0:
		case e.Doc != nil:
			for _, ent := range ents {
				l, f := enrich(e.Doc, ent, db)
				looked += l
				found += f
			}
		case e.Marks != nil && e.Out != nil && b.Arena != nil:
			// written by normalize's output plan (planned.go)
			l, f := enrichOut(e, ents, db, b.Arena, &rs)
			looked += l
			found += f
		}
	}
	if looked > 0 {
		s.lookups.Add(looked)
		s.matches.Add(found)
	}
	return ctx.Err()
}

// Lookups returns how many IP addresses were looked up and how many were
// found in the databases, for metrics.
func (s *Stage) Lookups() (lookups, matches uint64) { return s.lookups.Load(), s.matches.Load() }

// enrich writes one entity, as es-loader's LogParser.enrich merges
// {entity: {geo: ..., as: ...}} into the document: each key is set, and a
// key the database leaves null is set to null, which replaces an existing
// value and is dropped when the document is encoded (del_none), exactly as
// merge_dicts + del_none do.
func enrich(d *doc.Doc, ent entity, db *DB) (looked, found uint64) {
	n := d.Find(ent.ip)
	if n == doc.Nil || d.Kind(n) != doc.String {
		return 0, 0
	}
	r := db.LookupString(string(d.Bytes(n)))
	if r.Empty() {
		return 1, 0
	}
	obj := d.Find(ent.obj)
	if d.Kind(obj) != doc.Object {
		return 1, 1
	}
	if g := r.Geo; g != nil {
		geo := d.SetObject(obj, "geo")
		setStr(d, geo, "city_name", g.CityName)
		setStr(d, geo, "country_iso_code", g.CountryISOCode)
		setStr(d, geo, "country_name", g.CountryName)
		loc := d.SetObject(geo, "location")
		setNum(d, loc, "lon", g.lonText, g.HasLon)
		setNum(d, loc, "lat", g.latText, g.HasLat)
	}
	if a := r.AS; a != nil {
		as := d.SetObject(obj, "as")
		if a.HasNumber {
			d.SetInt(as, "number", int64(a.Number))
		} else {
			d.SetNull(as, "number")
		}
		org := d.SetObject(as, "organization")
		setStr(d, org, "name", a.Organization)
	}
	return 1, 1
}

func setStr(d *doc.Doc, obj doc.Node, key, v string) {
	if v == "" {
		d.SetNull(obj, key)
		return
	}
	d.SetString(obj, key, v)
}

func setNum(d *doc.Doc, obj doc.Node, key string, text []byte, ok bool) {
	if !ok {
		d.SetNull(obj, key)
		return
	}
	d.SetNumber(obj, key, text)
}

// appendPyFloat appends Python's repr of v ("139.0", "35.6895"), the text
// json.dumps writes for a float.
func appendPyFloat(dst []byte, v float64) []byte {
	var tmp [32]byte
	return pyjson.AppendNumber(dst, strconv.AppendFloat(tmp[:0], v, 'e', -1, 64))
}
