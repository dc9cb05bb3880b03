package normalize

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/siemstream/siemstream/internal/doc"
	"github.com/siemstream/siemstream/internal/pyjson"
	"github.com/siemstream/siemstream/schemas"
	"github.com/siemstream/siemstream/stages"
)

// An output plan writes an event's _source straight into the batch's arena,
// byte for byte what the tree path (normalize, then encode) would write,
// without building the ECS tree. It is compiled once per log type and list
// of record keys (a CSV header, a log_pattern's groups) for records that
// decode parsed into a flat object of strings and nulls: every value the
// document takes is then a record field, a constant or a value computed per
// record (@message, @timestamp, @id, event.ingested).
//
// The document's shape is replayed on a small tree of nodes fixed at compile
// time: the tree path's SetObject/Set*/Add*/Merge calls become "link this
// node" (a node keeps the position of its first link, like a key set again
// in a Python dict), in the same order, so the members come out in the same
// order. Writing applies del_none as encode does. Anything a plan cannot
// express makes the compile fail (the type keeps the tree path), and any
// record it cannot express (a parse error to report, a value long enough
// for the truncation rule, a wrapper envelope, …) takes the tree path.

// outPlan is the compiled plan of one log type and record key list.
type outPlan struct {
	lt    *schemas.LogType
	names []string // the record's top-level keys, in order (slot i = names[i])
	nodes []onode  // 0 is the root object

	nMessage, nTimestamp, nLogType, nBucket, nKey, nEvent, nModule, nIngested, nID int16
	nECS, nECSVersion, nCloud, nProvider, nAccount, nAccountID, nRegion            int16

	ecs    []ecsStep
	static []staticStep
	tsKeys [][]int // per timestamp key: its record slot (none: never present)
	suffix int     // doc_id_suffix slot, -1: none

	xform   xformKind
	vpc     vpcNodes
	alb     albNodes
	ua      uaNodes
	ecsVer  []byte
	cloudPr []byte
	ltName  []byte
	ltPlain bool

	ecsVerPlain, cloudPrPlain bool // need no escaping

	// lkInit are the links every record starts with (initLinks)
	lkInit []plink

	// marks (plan_marks.go): nil, or the marked paths and their nodes
	marks     *stages.MarkNames
	markNodes []int16 // -1: the tree never has a string, list or object there
	room      int     // capacity reserved after Out for geoip's members (geoRoom)
}

type onode struct {
	parent int16
	obj    bool
	mark   int8   // 1 + its index in the plan's marks; 0: not marked
	key    []byte // `,"name":"`: the member name as encode writes it, between the comma and a string value's quote
}

// ecsStep is one `ecs` entry: alternatives (or groups, for a list target)
// as record slots.
type ecsStep struct {
	node       int16
	list       bool
	validateIP bool
	alts       []int
	groups     [][]int
}

type staticStep struct {
	node  int16
	list  bool
	plain bool // val, or every one of vals, needs no escaping
	val   []byte
	vals  [][]byte
}

type xformKind uint8

const (
	xformNone xformKind = iota
	xformVPC
	xformELB
)

type vpcNodes struct {
	resourceType, protocol              int // record slots (-1: none)
	action, outcome, network, transport int16
	ntype                               int16
}

// uaNodes are what the user-agent stage writes: <field>.original, .name,
// .version, .os.{name,full,version}, .device.name.
type uaNodes struct {
	on                                                                       bool
	obj, original, name, version, os, osName, osFull, osVer, device, devName int16
}

type albNodes struct {
	request   int // record slot
	url, full int16
}

// planKey identifies a compiled plan.
type planKey struct {
	lt    *schemas.LogType
	names string // the keys joined by NUL
}

// planCache holds a stage's compiled plans; nil entries are types or key
// lists that have none.
type planCache struct {
	m      sync.Map // planKey -> *outPlan (nil: no plan)
	n      atomic.Int64
	enrich enrichOn // what runs after normalize (fixed at New)
}

// maxPlanKeys: records with more top-level keys take the tree path (node
// numbers are int16).
const maxPlanKeys = 1 << 12

// maxPlans bounds the cache: objects with ever new CSV headers would
// otherwise grow it without end (the extra ones take the tree path).
const maxPlans = 4096

func (c *planCache) get(lt *schemas.LogType, names []string) *outPlan {
	k := planKey{lt, strings.Join(names, "\x00")}
	if p, ok := c.m.Load(k); ok {
		return p.(*outPlan)
	}
	if c.n.Load() >= maxPlans {
		return nil
	}
	p := compilePlan(lt, names, c.enrich)
	if _, loaded := c.m.LoadOrStore(k, p); !loaded {
		c.n.Add(1)
	}
	return p
}

var (
	vpcTransform = transformID(schemas.RegisteredTransform("vpcflowlogs"))
	elbTransform = transformID(schemas.RegisteredTransform("alb"))
)

func transformID(f schemas.TransformFunc) uintptr {
	if f == nil {
		return 0
	}
	return reflect.ValueOf(f).Pointer()
}

// reserved are the top-level keys the tree path writes or reads besides
// the record's own: a record key among them changes what those calls do.
var reserved = map[string]bool{
	"@message": true, "@timestamp": true, "@log_type": true, "@log_s3bucket": true, "@log_s3key": true,
	"@log_group": true, "@log_stream": true, "event": true, "@id": true, "ecs": true, "cloud": true,
	"error": true, "cwl_timestamp": true, "cwe_timestamp": true, "network": true, "url": true,
}

// planType reports whether lt's mapping is one a plan may express (the
// record keys decide the rest).
func planType(lt *schemas.LogType) bool {
	switch {
	case lt.ViaCWL || lt.ViaFirelens, lt.DocID != "", lt.FieldPrefix != "",
		len(lt.JSONToText) > 0, len(lt.RenamedNewFields) > 0, !planFor(lt).fast:
		return false
	}
	switch lt.FileFormat {
	case schemas.FormatCSV, schemas.FormatText:
		return true
	}
	return false
}

// compilePlan returns the plan of lt for records with these keys, or nil.
func compilePlan(lt *schemas.LogType, names []string, en enrichOn) *outPlan {
	if !planType(lt) || len(names) > maxPlanKeys {
		return nil
	}
	p := &outPlan{lt: lt, names: names, suffix: -1}
	slot := map[string]int{}
	for i, n := range names {
		if reserved[n] || isTopTarget(lt, n) {
			return nil
		}
		if _, dup := slot[n]; dup {
			return nil
		}
		slot[n] = i
	}
	p.nodes = append(p.nodes, onode{parent: -1, obj: true})
	index := map[string]int16{}
	conflict := false
	// node returns the node at path under the root, creating it (and its
	// parents as objects) in the compile-time table.
	var node func(path []string, obj bool) int16
	node = func(path []string, obj bool) int16 {
		k := strings.Join(path, "\x00")
		if i, ok := index[k]; ok {
			if p.nodes[i].obj != obj {
				conflict = true
			}
			return i
		}
		parent := int16(0)
		if len(path) > 1 {
			parent = node(path[:len(path)-1], true)
		}
		name := path[len(path)-1]
		key := doc.AppendKey([]byte{','}, []byte(name), false) // ,"name":
		p.nodes = append(p.nodes, onode{parent: parent, obj: obj, key: append(key, '"')})
		i := int16(len(p.nodes) - 1)
		index[k] = i
		return i
	}
	for _, n := range names {
		node([]string{n}, false)
	}
	p.nMessage = node([]string{"@message"}, false)
	p.nTimestamp = node([]string{"@timestamp"}, false)
	p.nLogType = node([]string{"@log_type"}, false)
	p.nBucket = node([]string{"@log_s3bucket"}, false)
	p.nKey = node([]string{"@log_s3key"}, false)
	p.nEvent = node([]string{"event"}, true)
	p.nModule = node([]string{"event", "module"}, false)
	p.nIngested = node([]string{"event", "ingested"}, false)
	p.nID = node([]string{"@id"}, false)
	p.nECS = node([]string{"ecs"}, true)
	p.nECSVersion = node([]string{"ecs", "version"}, false)
	p.nCloud = node([]string{"cloud"}, true)
	p.nProvider = node([]string{"cloud", "provider"}, false)
	p.nAccount = node([]string{"cloud", "account"}, true)
	p.nAccountID = node([]string{"cloud", "account", "id"}, false)
	p.nRegion = node([]string{"cloud", "region"}, false)
	p.ecsVer = []byte(lt.ECSVersion)
	p.cloudPr = []byte(lt.CloudProvider)
	p.ltName = []byte(lt.Name)
	p.ltPlain = pyjson.PlainLen(p.ltName) == len(p.ltName)

	// alt resolves a lookup path to a record slot: -1 when it can never
	// find a value, ok false when it reads something else.
	alt := func(path doc.Path) (int, bool) {
		first := path.Seg(0)
		i, isRec := slot[first]
		switch {
		case isRec && path.Len() == 1 && !isDigitSeg(first):
			return i, true
		case isRec || isDigitSeg(first):
			return -1, true // a string has no members; the root is no array
		case reserved[first] || isTopTarget(lt, first):
			return 0, false
		}
		return -1, true // no such key at the root
	}
	alts := func(paths []doc.Path) ([]int, bool) {
		var out []int
		for _, path := range paths {
			i, ok := alt(path)
			if !ok {
				return nil, false
			}
			if i >= 0 {
				out = append(out, i)
			}
		}
		return out, true
	}
	for _, f := range lt.ECS {
		segs := pathSegs(f.Path)
		if segs[0] == "event" && len(segs) == 1 || reserved[segs[0]] && segs[0] != "event" && segs[0] != "cloud" &&
			segs[0] != "network" && segs[0] != "url" && segs[0] != "ecs" {
			return nil
		}
		st := ecsStep{node: node(segs, false), list: f.List, validateIP: f.ValidateIP}
		var ok bool
		if f.List {
			for _, g := range f.Groups {
				var a []int
				if a, ok = alts(g); !ok {
					return nil
				}
				st.groups = append(st.groups, a)
			}
		} else if st.alts, ok = alts(f.Alternatives); !ok {
			return nil
		}
		p.ecs = append(p.ecs, st)
	}
	for _, f := range lt.StaticECS {
		segs := pathSegs(f.Path)
		if segs[0] == "event" && len(segs) == 1 || reserved[segs[0]] && segs[0] != "event" && segs[0] != "cloud" &&
			segs[0] != "network" && segs[0] != "url" && segs[0] != "ecs" {
			return nil
		}
		st := staticStep{node: node(segs, false), list: f.IsList, val: []byte(f.Value)}
		st.plain = pyjson.PlainLen(st.val) == len(st.val)
		for _, v := range f.Values {
			st.vals = append(st.vals, []byte(v))
			st.plain = st.plain && pyjson.PlainLen(st.vals[len(st.vals)-1]) == len(v)
		}
		p.static = append(p.static, st)
	}
	for i, k := range lt.TimestampKeys {
		switch k {
		case "cwe_timestamp", "cwl_timestamp", "file_timestamp":
			return nil
		}
		s, ok := alt(lt.TimestampPaths[i])
		if !ok {
			return nil
		}
		var ss []int
		if s >= 0 {
			ss = []int{s}
		}
		p.tsKeys = append(p.tsKeys, ss)
	}
	if !lt.DocIDSuffixPath.IsZero() {
		s, ok := alt(lt.DocIDSuffixPath)
		if !ok {
			return nil
		}
		p.suffix = s
	}
	if len(lt.ScriptECS) > 0 && lt.Transform != nil {
		recSlot := func(n string) int {
			if i, ok := slot[n]; ok {
				return i
			}
			return -1
		}
		switch transformID(lt.Transform) {
		case vpcTransform:
			p.xform = xformVPC
			p.vpc = vpcNodes{
				resourceType: recSlot("resource_type"), protocol: recSlot("protocol"),
				action:    node([]string{"event", "action"}, false),
				outcome:   node([]string{"event", "outcome"}, false),
				network:   node([]string{"network"}, true),
				transport: node([]string{"network", "transport"}, false),
				ntype:     node([]string{"network", "type"}, false),
			}
		case elbTransform:
			p.xform = xformELB
			p.alb = albNodes{request: recSlot("request"), url: node([]string{"url"}, true), full: node([]string{"url", "full"}, false)}
		default:
			return nil
		}
	}
	if f := lt.UserAgentEnrichmentField; f != "" {
		if reserved[f] && f != "event" && f != "cloud" && f != "network" && f != "url" && f != "ecs" || strings.Contains(f, ".") {
			return nil
		}
		if _, isRec := slot[f]; isRec {
			return nil
		}
		p.ua = uaNodes{on: true,
			obj:      node([]string{f}, true),
			original: node([]string{f, "original"}, false),
			name:     node([]string{f, "name"}, false),
			version:  node([]string{f, "version"}, false),
			os:       node([]string{f, "os"}, true),
			osName:   node([]string{f, "os", "name"}, false),
			osFull:   node([]string{f, "os", "full"}, false),
			osVer:    node([]string{f, "os", "version"}, false),
			device:   node([]string{f, "device"}, true),
			devName:  node([]string{f, "device", "name"}, false),
		}
	}
	if conflict || len(p.nodes) > 1<<14 || !p.compileMarks(lt, index, en) {
		return nil
	}
	p.ecsVerPlain = pyjson.PlainLen(p.ecsVer) == len(p.ecsVer)
	p.cloudPrPlain = pyjson.PlainLen(p.cloudPr) == len(p.cloudPr)
	p.lkInit = p.initLinks()
	return p
}

// initLinks returns the links every record of p starts with, made once
// instead of per record: the record's nodes, in order, then the members
// runPlan sets on every record before the mapping's, in runPlan's order
// (so in the order the tree path creates them). Their values are
// runPlan's to set.
func (p *outPlan) initLinks() []plink {
	st := pstate{lk: make([]plink, len(p.nodes))}
	st.lk[0].linked = true
	// the record's nodes follow the root: link them as a run
	if k := int16(len(p.names)); k > 0 {
		for n := int16(1); n < k; n++ {
			st.lk[n] = plink{linked: true, next: n + 1}
		}
		st.lk[k] = plink{linked: true}
		st.lk[0].first, st.lk[0].last = 1, k
	}
	for _, n := range []int16{p.nMessage, p.nTimestamp, p.nLogType, p.nBucket, p.nKey, p.nEvent, p.nModule,
		p.nIngested, p.nID, p.nECS, p.nECSVersion} {
		p.link(&st, n)
	}
	if p.lt.CloudProvider != "" {
		p.link(&st, p.nProvider)
	}
	return st.lk
}

// isTopTarget: an ECS or static target starts with key (so a lookup of
// key would see what the mapping wrote, not the record).
func isTopTarget(lt *schemas.LogType, key string) bool {
	for _, f := range lt.ECS {
		if f.Path.Seg(0) == key {
			return true
		}
	}
	for _, f := range lt.StaticECS {
		if f.Path.Seg(0) == key {
			return true
		}
	}
	return false
}

func pathSegs(p doc.Path) []string {
	segs := make([]string, p.Len())
	for i := range segs {
		segs[i] = p.Seg(i)
	}
	return segs
}

// pstate is a plan's per-record state: which nodes are linked where, and
// the leaves' values. Reused across records.
type pstate struct {
	lk       []plink
	msgPlain bool       // @message needs no escaping (and, in a tree record, neither do its values: made of its bytes)
	plain    []bool     // by slot: the value needs no escaping (known without looking)
	bad      []uint64   // a flat record's Line: bit i is set when Line[i] needs escaping (scanBad)
	badCtl   bool       // some byte set in bad is not '"' or '\\' (a control character, DEL, non-ASCII)
	msgBad   bool       // @message is the flat record's Line, and bad says where it needs a backslash
	val      []pval     // of linked leaves only (set when linked)
	slots    []doc.Node // the record's members (tree records, while plan compares keys)
	sv       []sval     // the record's values, by slot
	list     [][]byte
	lower    []byte
	spans    [stages.MaxMarks]stages.MarkSpan // the record's marks, filled by write
	ip4      [stages.MaxMarks]markIPv4        // marked values validated as IPv4 (validIPMarked)
	ids      idChunks                         // the records' _id text (Event.ID views it)
}

// sval is a record slot's value: a string or null (other kinds take the
// tree path).
type sval struct {
	b   []byte
	str bool
}

// plink places a node: its first and last member and its next sibling
// (0: none; the root is nobody's member).
type plink struct {
	first, last, next int16
	linked            bool
}

type pval struct {
	kind   uint8
	plain  bool // b needs no escaping (known without looking)
	bad    bool // b is @message, escaped where st.bad says (pstate.msgBad)
	b      []byte
	lo, hi int32 // list: elements list[lo:hi]
}

// str makes v the string b, field by field: a pval literal is built on
// the stack and copied with wide loads that stall on the narrow stores
// that built it (store forwarding), which cost more than the rest of a
// record's setup (measured: a third of runPlan's own time).
func (v *pval) str(b []byte, plain bool) {
	v.kind, v.plain, v.bad = pvString, plain, false
	v.b = b
}

const (
	pvNull uint8 = iota
	pvString
	pvList
)

// reset starts a record with the links of init (outPlan.lkInit).
func (st *pstate) reset(init []plink) {
	n := len(init)
	if cap(st.lk) < n {
		st.lk, st.val = make([]plink, n), make([]pval, n)
	}
	st.lk, st.val = st.lk[:n], st.val[:n]
	copy(st.lk, init)
	st.list = st.list[:0]
	st.ip4 = [stages.MaxMarks]markIPv4{}
}

func (st *pstate) linked(n int16) bool { return st.lk[n].linked }

// link links node n (and its parents) where the tree would have created
// it; a linked node keeps its place.
func (p *outPlan) link(st *pstate, n int16) {
	if st.lk[n].linked {
		return
	}
	par := p.nodes[n].parent
	if !st.lk[par].linked {
		p.link(st, par)
	}
	st.lk[n] = plink{linked: true}
	pl := &st.lk[par]
	if pl.last == 0 {
		pl.first = n
	} else {
		st.lk[pl.last].next = n
	}
	pl.last = n
}

func (p *outPlan) setStr(st *pstate, n int16, b []byte) {
	p.link(st, n)
	st.val[n].str(b, false)
}

// setPlain is setStr for a value known to need no JSON escaping.
func (p *outPlan) setPlain(st *pstate, n int16, b []byte, plain bool) {
	p.link(st, n)
	st.val[n].str(b, plain)
}

// empty unlinks every member of object n (d.Replace with a new object).
func (p *outPlan) empty(st *pstate, n int16) {
	for c := st.lk[n].first; c != 0; c = st.lk[c].next {
		p.empty(st, c)
		st.lk[c].linked = false
	}
	st.lk[n].first, st.lk[n].last = 0, 0
}

// slotValue is pyValue of a record slot: nil or empty when null or "".
func slotValue(st *pstate, i int) []byte { return st.sv[i].b }

func firstSlot(st *pstate, alts []int) []byte {
	for _, i := range alts {
		if v := slotValue(st, i); len(v) > 0 {
			return v
		}
	}
	return nil
}

// firstSlotPlain is firstSlot, and whether the value needs no escaping.
func firstSlotPlain(st *pstate, alts []int) ([]byte, bool) {
	for _, i := range alts {
		if v := st.sv[i].b; len(v) > 0 {
			return v, st.plain[i]
		}
	}
	return nil, false
}

// plan returns the plan for e's record, a tree, or nil (tree path), and
// fills the record slots' nodes.
func (s *Stage) plan(sc *scratch, e *stages.Event) *outPlan {
	d := e.Doc
	root := d.Root()
	st := &sc.ps
	st.slots = st.slots[:0]
	if sc.opLT == sc.si.lt && sc.opLT != nil && e.Src == sc.opSrc {
		// the same object: CSV keys are its header's first n names, text
		// keys all of log_pattern's, so the count tells
		for c := d.First(root); c != doc.Nil; c = d.Next(c) {
			st.slots = append(st.slots, c)
		}
		if len(st.slots) == len(sc.opNames) {
			return sc.op
		}
		st.slots = st.slots[:0]
	}
	if sc.opLT == sc.si.lt && sc.opLT != nil {
		i := 0
		ok := true
		for c := d.First(root); c != doc.Nil; c = d.Next(c) {
			if i == len(sc.opNames) || string(d.Key(c)) != sc.opNames[i] {
				ok = false
				break
			}
			st.slots = append(st.slots, c)
			i++
		}
		if ok && i == len(sc.opNames) {
			sc.opSrc = e.Src
			return sc.op
		}
	}
	names := make([]string, 0, len(sc.opNames))
	st.slots = st.slots[:0]
	for c := d.First(root); c != doc.Nil; c = d.Next(c) {
		names = append(names, string(d.Key(c)))
		st.slots = append(st.slots, c)
	}
	sc.op, sc.opLT, sc.opNames, sc.opSrc = s.plans.get(sc.si.lt, names), sc.si.lt, names, e.Src
	return sc.op
}

// runPlan writes e's document with its plan; false leaves e untouched for
// the tree path. The record is e.Flat (decode split it) or e.Doc.
// planInput reports whether a plan may write e at all: no wrapper (the
// plan writes no envelope fields), a source, and a record short enough
// that no field of it needs es-loader's truncation.
func planInput(e *stages.Event) bool {
	return e.Env == nil && e.Src != nil && len(e.Raw) < doc.TruncateFieldBytes
}

func (s *Stage) runPlan(sc *scratch, e *stages.Event, arena *stages.Arena) bool {
	lt := sc.si.lt
	if !planInput(e) {
		return false
	}
	st := &sc.ps
	var p *outPlan
	if e.Flat != nil {
		if p = s.planFlat(sc, e.Flat); p == nil {
			return false
		}
	} else {
		d := e.Doc
		if d.Meta.SkipNormalization {
			return false
		}
		if p = s.plan(sc, e); p == nil {
			return false
		}
		st.sv = st.sv[:0]
		for _, c := range st.slots {
			switch d.Kind(c) {
			case doc.String:
				st.sv = append(st.sv, sval{d.Bytes(c), true})
			case doc.Null:
				st.sv = append(st.sv, sval{})
			default:
				return false
			}
		}
	}

	// @timestamp
	var ts schemas.Time
	if len(lt.TimestampKeys) > 0 {
		var v []byte
		for _, ss := range p.tsKeys {
			if len(ss) == 1 && len(slotValue(st, ss[0])) > 0 {
				v = slotValue(st, ss[0])
				break
			}
		}
		if v == nil {
			return false
		}
		found := false
		for _, f := range lt.TimestampFormats {
			if t, ok := parseTimeString(sc, lt, v, f); ok {
				ts, found = t, true
				break
			}
		}
		if !found {
			return false
		}
	} else if sc.si.hasFileTS {
		ts = sc.si.fileTS
	} else {
		ts = sc.nowT
	}
	sc.via = viaMeta{&noEnvelope}
	pre := sc.pre.cur // hashIDs's @message and its md5, if it took e
	var msg []byte
	if pre >= 0 {
		msg = sc.pre.msg[pre]
	} else {
		m, err := message(sc, lt, e)
		if err != nil {
			return false
		}
		msg, sc.msg = m, m
	}
	st.msgPlain = pyjson.PlainLen(msg) == len(msg)
	if f := e.Flat; f != nil {
		st.flatPlain(f, msg)
	} else {
		st.msgBad = false
		st.plain = slices.Grow(st.plain[:0], len(st.sv))[:len(st.sv)]
		for i := range st.plain {
			st.plain[i] = st.msgPlain
		}
	}
	sc.tsText = ts.AppendISO(sc.tsText[:0])

	// the links every record starts with (initLinks), then their values
	st.reset(p.lkInit)
	for i, v := range st.sv {
		n := int16(i + 1)
		if v.str {
			st.val[n].str(v.b, st.plain[i])
		} else {
			st.val[n].kind = pvNull
		}
	}
	var idb []byte
	if pre >= 0 {
		idb = st.ids.hex(&sc.pre.sum[pre])
	} else {
		idb = st.ids.md5hex(msg)
	}
	st.val[p.nMessage].str(msg, st.msgPlain)
	st.val[p.nMessage].bad = st.msgBad
	st.val[p.nTimestamp].str(sc.tsText, true)
	st.val[p.nLogType].str(p.ltName, p.ltPlain)
	st.val[p.nBucket].str(sc.si.bucket, sc.si.plainBK)
	st.val[p.nKey].str(sc.si.key, sc.si.plainBK)
	st.val[p.nModule].str(p.ltName, p.ltPlain)
	st.val[p.nIngested].str(sc.ingested, true)
	st.val[p.nID].str(idb, true)
	// mapECS, straight into the root (E's members are new keys of the
	// root, but for event, which Merge merges member by member)
	st.val[p.nECSVersion].str(p.ecsVer, p.ecsVerPlain)
	if lt.CloudProvider != "" {
		st.val[p.nProvider].str(p.cloudPr, p.cloudPrPlain)
	}
	for i := range p.ecs {
		f := &p.ecs[i]
		if !f.list {
			v, plain := firstSlotPlain(st, f.alts)
			if v == nil {
				continue
			}
			if f.validateIP {
				valid := false
				if p.nodes[f.node].mark != 0 {
					valid = p.validIPMarked(st, f.node, v) // keeps an IPv4 parse for the marks
				} else {
					valid = validIP(v)
				}
				if !valid {
					continue
				}
			}
			p.setPlain(st, f.node, v, plain)
			continue
		}
		lo := len(st.list)
		allPlain := true
		for _, g := range f.groups {
			if v, plain := firstSlotPlain(st, g); v != nil && (!f.validateIP || validIP(v)) {
				st.list = append(st.list, v)
				allPlain = allPlain && plain
			}
		}
		if len(st.list) == lo {
			continue
		}
		l := st.list[lo:]
		slices.SortStableFunc(l, bytes.Compare)
		out := l[:1]
		for _, v := range l[1:] {
			if !bytes.Equal(v, out[len(out)-1]) {
				out = append(out, v)
			}
		}
		st.list = st.list[:lo+len(out)]
		p.link(st, f.node)
		st.val[f.node] = pval{kind: pvList, plain: allPlain, lo: int32(lo), hi: int32(len(st.list))}
	}
	if st.linked(p.nCloud) {
		accountID, regionID := sc.si.accountB, sc.si.regionB
		if !(st.linked(p.nAccount) && st.linked(p.nAccountID) && st.val[p.nAccountID].kind == pvString && len(st.val[p.nAccountID].b) > 0) {
			// account2 missing or falsy
			p.link(st, p.nAccount)
			p.empty(st, p.nAccount)
			if len(accountID) > 0 {
				p.setStr(st, p.nAccountID, accountID)
			} else {
				p.setPlain(st, p.nAccountID, unknown, true)
			}
		} else if string(st.val[p.nAccountID].b) == "unknown" {
			p.empty(st, p.nAccount)
			if len(accountID) > 0 {
				p.setStr(st, p.nAccountID, accountID)
			}
		}
		if !st.linked(p.nRegion) {
			if len(regionID) > 0 {
				p.setStr(st, p.nRegion, regionID)
			} else {
				p.setPlain(st, p.nRegion, unknown, true)
			}
		}
	}
	for i := range p.static {
		f := &p.static[i]
		p.link(st, f.node)
		if f.list {
			lo := len(st.list)
			st.list = append(st.list, f.vals...)
			st.val[f.node] = pval{kind: pvList, plain: f.plain, lo: int32(lo), hi: int32(len(st.list))}
		} else {
			st.val[f.node].str(f.val, f.plain)
		}
	}

	xok := true
	switch p.xform {
	case xformVPC:
		xok = p.transformVPC(st)
	case xformELB:
		xok = p.transformELB(st)
	}

	if p.ua.on && s.ua != nil {
		p.userAgent(st, s.ua)
	}
	if p.marks != nil && !p.markValues(st) {
		return false
	}
	if !xok {
		s.transformErrors.Add(1)
	}

	e.Index = sc.indexName(lt, &schemas.TransformContext{}, ts)
	id := unsafe.String(unsafe.SliceData(idb), len(idb))
	if p.suffix >= 0 {
		if v := slotValue(st, p.suffix); len(v) > 0 {
			id = id + "_" + string(v)
		}
	}
	e.ID = id
	out := p.write(arena.Free(), st, 0)
	if n := len(out); p.room > 0 && cap(out)-n >= p.room {
		// keep room for geoip's members after the document, so that it
		// splices them in place (PlanMarks); never written here
		e.Out = arena.Keep(out[:n+p.room])[:n]
	} else {
		e.Out = arena.Keep(out)
	}
	if p.marks != nil {
		m := arena.Marks()
		m.Names, m.Spans = p.marks, st.spans
		p.markIPv4(st, m)
		e.Marks = m
	}
	return true
}

// ianaTransport is schemas.IANATransport as bytes, for the common
// protocol numbers (others ask schemas); plain: the name needs no escaping.
func ianaTransport(proto []byte) (name []byte, plain, ok bool) {
	switch string(proto) {
	case "6":
		return tcp, true, true
	case "17":
		return udp, true, true
	case "1":
		return icmp, true, true
	}
	tr, ok := schemas.IANATransport(proto)
	return []byte(tr), false, ok
}

var (
	tcp, udp, icmp = []byte("tcp"), []byte("udp"), []byte("icmp")
	unknown        = []byte("unknown")
	transitGateway = []byte("transit-gateway")
	outcomeSuccess = []byte("success")
	outcomeFailure = []byte("failure")
)

// transformVPC replays schemas' vpcflowlogs transform; false: it stopped
// early (an error the tree path counts too).
func (p *outPlan) transformVPC(st *pstate) bool {
	v := &p.vpc
	if v.resourceType >= 0 && len(slotValue(st, v.resourceType)) > 0 {
		st.val[p.nLogType].b = transitGateway
	} else {
		outcome := unknown
		if st.linked(v.action) && st.val[v.action].kind == pvString {
			switch a := st.val[v.action].b; {
			case bytes.Contains(a, []byte("ACCEPT")):
				outcome = outcomeSuccess
			case bytes.Contains(a, []byte("REJECT")):
				outcome = outcomeFailure
			}
		}
		p.setPlain(st, v.outcome, outcome, true)
	}
	if v.protocol >= 0 && st.sv[v.protocol].str {
		if tr, plain, ok := ianaTransport(st.sv[v.protocol].b); ok {
			if !st.linked(v.network) {
				return false
			}
			p.setPlain(st, v.transport, tr, plain)
		}
	}
	if st.linked(v.network) && st.linked(v.ntype) {
		if st.val[v.ntype].kind != pvString {
			return false
		}
		st.lower = appendLower(st.lower[:0], st.val[v.ntype].b)
		st.val[v.ntype].b = st.lower
	}
	return true
}

// appendLower is strings.ToLower of b.
func appendLower(dst, b []byte) []byte {
	for _, c := range b {
		if c >= 0x80 {
			return append(dst, strings.ToLower(string(b))...)
		}
	}
	for _, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// transformELB replays schemas' alb/clb transform (url.full).
func (p *outPlan) transformELB(st *pstate) bool {
	a := &p.alb
	if a.request < 0 || !st.linked(a.url) {
		return true
	}
	req := st.sv[a.request]
	if !req.str {
		return false
	}
	b := req.b
	i := bytes.IndexByte(b, ' ')
	if i < 0 {
		return false
	}
	rest := b[i+1:]
	if j := bytes.IndexByte(rest, ' '); j >= 0 {
		rest = rest[:j]
	}
	p.setPlain(st, a.full, rest, st.plain[a.request]) // a part of a plain string is plain
	return true
}

// userAgent replays the user-agent stage's enrich, which runs after
// normalize (GeoIP and IoC, which run between, leave it alone).
func (p *outPlan) userAgent(st *pstate, lookup func([]byte) *UserAgent) {
	u := &p.ua
	if !st.linked(u.obj) || !st.linked(u.original) {
		return
	}
	v := st.val[u.original]
	var raw []byte
	switch v.kind {
	case pvString:
		raw = v.b
	case pvList:
		if v.hi == v.lo {
			return
		}
		raw = st.list[v.lo]
	default:
		return
	}
	if string(raw) == "-" {
		return
	}
	r := lookup(raw)
	p.setStr(st, u.original, strBytes(r.Original))
	p.setStr(st, u.name, strBytes(r.Name))
	if r.Version != "" {
		p.setStr(st, u.version, strBytes(r.Version))
	}
	p.link(st, u.os)
	p.setStr(st, u.osName, strBytes(r.OSName))
	p.setStr(st, u.osFull, strBytes(r.OSFull))
	if r.OSVersion != "" {
		p.setStr(st, u.osVer, strBytes(r.OSVersion))
	}
	p.link(st, u.device)
	p.setStr(st, u.devName, strBytes(r.Device))
}

// strBytes views s as bytes without copying; the plan only reads them.
func strBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// write appends object n as encode would: del_none drops null, "", "-",
// "null", "[]", empty lists, [""] and objects empty after that.
func (p *outPlan) write(dst []byte, st *pstate, n int16) []byte {
	dst = append(dst, '{')
	skip := 1 // the first member has no comma
	for c := st.lk[n].first; c != 0; c = st.lk[c].next {
		key := p.nodes[c].key // ,"name":"
		if p.nodes[c].obj {
			mark := len(dst)
			dst = append(dst, key[skip:len(key)-1]...)
			body := len(dst)
			dst = p.write(dst, st, c)
			if len(dst)-body == 2 { // {} after cleaning: drop the member
				dst = dst[:mark]
				continue
			}
			if m := p.nodes[c].mark; m != 0 {
				st.spans[m-1] = stages.MarkSpan{Kind: stages.MarkObject, Off: int32(len(dst) - 1)}
			}
			skip = 0
			continue
		}
		v := &st.val[c]
		switch v.kind {
		case pvNull:
			continue
		case pvString:
			if doc.Removable(v.b) {
				continue
			}
			if v.plain {
				dst = append(dst, key[skip:]...)
				dst = append(dst, v.b...)
				dst = append(dst, '"')
			} else if v.bad {
				dst = append(dst, key[skip:len(key)-1]...)
				dst = st.appendBad(dst, v.b)
			} else {
				dst = append(dst, key[skip:len(key)-1]...)
				dst = doc.AppendQuotedAny(dst, v.b)
			}
			if m := p.nodes[c].mark; m != 0 { // marked values need no escaping (markValues)
				st.spans[m-1] = stages.MarkSpan{Kind: stages.MarkString, Off: int32(len(dst) - 1 - len(v.b)), End: int32(len(dst) - 1)}
			}
		case pvList:
			l := st.list[v.lo:v.hi]
			if len(l) == 0 || len(l) == 1 && len(l[0]) == 0 {
				continue
			}
			dst = append(dst, key[skip:len(key)-1]...)
			dst = append(dst, '[')
			lo := len(dst)
			for i, x := range l {
				if i > 0 {
					dst = append(dst, ',')
				}
				if v.plain {
					dst = append(dst, '"')
					dst = append(dst, x...)
					dst = append(dst, '"')
				} else {
					dst = doc.AppendQuotedAny(dst, x)
				}
			}
			if m := p.nodes[c].mark; m != 0 {
				st.spans[m-1] = stages.MarkSpan{Kind: stages.MarkList, Off: int32(lo), End: int32(len(dst))}
			}
			dst = append(dst, ']')
		}
		skip = 0
	}
	return append(dst, '}')
}

// flatPlain sets st.plain for the values of a flat record, spans of
// f.Line: a value needs no escaping when its span holds none of the line's
// bytes that do, found in one scan of the line (scanBad) instead of one per
// value. ALB lines always hold quotes, so a per-line answer (@message) would
// send every value through the escaping writer. A line that is @message
// itself and plain (VPC Flow Logs) needs no scan.
func (st *pstate) flatPlain(f *stages.Flat, msg []byte) {
	n := f.N()
	st.plain = slices.Grow(st.plain[:0], n)[:n]
	same := bytes.Equal(msg, f.Line)
	st.msgBad = false
	if st.msgPlain && same {
		for i := range st.plain {
			st.plain[i] = true
		}
		return
	}
	st.scanBad(f.Line)
	// the scan tells where @message needs a backslash, unless it holds
	// bytes escaped otherwise (left to the escaping writer)
	st.msgBad = same && !st.badCtl
	for i := range st.plain {
		a := f.Offs[2*i]
		st.plain[i] = a != stages.FlatNull && st.plainSpan(int(a), int(f.Offs[2*i+1]))
	}
}

// scanBad sets st.bad to the bitmap of line's bytes that need escaping:
// bit i&63 of word i>>6 is set when line[i] does.
func (st *pstate) scanBad(line []byte) {
	n := (len(line) + 63) >> 6
	st.bad = slices.Grow(st.bad[:0], n)[:n]
	clear(st.bad)
	st.badCtl = false
	i := 0
	// sixteen bytes at a time, checked cheaply first (most are plain)
	for ; i+16 <= len(line); i += 16 {
		x, y := binary.LittleEndian.Uint64(line[i:]), binary.LittleEndian.Uint64(line[i+8:])
		if anyBad(x)|anyBad(y) != 0 {
			st.badWord(x, i)
			st.badWord(y, i+8)
		}
	}
	if i+8 <= len(line) {
		st.badWord(binary.LittleEndian.Uint64(line[i:]), i)
		i += 8
	}
	for ; i < len(line); i++ {
		switch c := line[i]; {
		case c == '"' || c == '\\':
			st.bad[i>>6] |= 1 << (i & 63)
		case c < 0x20 || c >= 0x7f:
			st.bad[i>>6] |= 1 << (i & 63)
			st.badCtl = true
		}
	}
}

// badWord sets the bits of x, the eight bytes at line[i], in st.bad.
func (st *pstate) badWord(x uint64, i int) {
	quote, ctl := badBytes(x)
	if m := quote | ctl; m != 0 {
		// one bit per byte (bit k: byte k), at the word's place: i&63
		// is a multiple of 8 below 64, so the byte fits
		st.bad[i>>6] |= (m >> 7) * 0x0102040810204080 >> 56 << (i & 63)
		st.badCtl = st.badCtl || ctl != 0
	}
}

// appendBad appends s, scanBad's line with no byte but '"' and '\\' to
// escape, as a JSON string: the runs between those bytes are copied
// whole, so a line with quotes costs a copy per quote, not a check per
// byte.
func (st *pstate) appendBad(dst, s []byte) []byte {
	dst = append(dst, '"')
	prev := 0
	for w, m := range st.bad {
		for ; m != 0; m &= m - 1 {
			i := w<<6 | bits.TrailingZeros64(m)
			dst = append(dst, s[prev:i]...)
			dst = append(dst, '\\', s[i])
			prev = i + 1
		}
	}
	dst = append(dst, s[prev:]...)
	return append(dst, '"')
}

// plainSpan reports whether line[a:b] (scanBad's line) needs no escaping.
func (st *pstate) plainSpan(a, b int) bool {
	if a >= b {
		return true
	}
	wa, wb := a>>6, (b-1)>>6
	lo := ^uint64(0) << (a & 63)        // bits a&63 and up
	hi := ^uint64(0) >> (63 - (b-1)&63) // bits up to (b-1)&63
	if wa == wb {
		return st.bad[wa]&lo&hi == 0
	}
	if st.bad[wa]&lo != 0 || st.bad[wb]&hi != 0 {
		return false
	}
	for _, w := range st.bad[wa+1 : wb] {
		if w != 0 {
			return false
		}
	}
	return true
}

// anyBad is not zero when some byte of x needs escaping (pyjson's badMask:
// cheaper than badBytes, and exact only at the lowest flagged byte).
func anyBad(x uint64) uint64 {
	const lsb, msb = 0x0101010101010101, 0x8080808080808080
	return ((x + lsb) | x | (x - 0x20*lsb) | ((x ^ ('"' * lsb)) - lsb) | ((x ^ ('\\' * lsb)) - lsb)) & msb
}

// badBytes flags (high bit) exactly the bytes of x that a JSON string
// literal cannot hold as is, pyjson.PlainLen's: '"' and '\\' in quote,
// < 0x20 and >= 0x7f in ctl. Every sum stays within its byte (seven low
// bits plus at most 0x7f), so no carry reaches the next byte and every flag
// is exact (pyjson's badMask is exact only at the lowest flagged byte).
func badBytes(x uint64) (quote, ctl uint64) {
	const lsb, msb, low7 = 0x0101010101010101, 0x8080808080808080, 0x7f7f7f7f7f7f7f7f
	l := x & low7
	high := (l + lsb) | x        // b&0x7f == 0x7f (DEL) or b >= 0x80
	low := ^((l + 0x60*lsb) | x) // b < 0x20
	q, bs := x^('"'*lsb), x^('\\'*lsb)
	quote = ^(((q & low7) + low7) | q) | ^(((bs & low7) + low7) | bs)
	return quote & msb, (high | low) & msb
}
