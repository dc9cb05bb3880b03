package normalize

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/siemstream/siemstream/internal/doc"
	"github.com/siemstream/siemstream/internal/pyjson"
	"github.com/siemstream/siemstream/internal/wire"
	"github.com/siemstream/siemstream/schemas"
	"github.com/siemstream/siemstream/stages"
)

// Config configures the normalize stage.
type Config struct {
	// Now is the clock for event.ingested, the syslog year guess and records
	// without any timestamp. Nil (the zero Config): time.Now.
	Now func() time.Time
	// Plan reports whether events of a log type may be written by its
	// output plan (plan_out.go): their _source goes straight into the
	// batch's arena and Event.Doc is nil after normalize, so it may be true
	// only for types whose documents no later stage reads as a tree
	// (exclusion conditions do; GeoIP and IoC read the plan's marks, see
	// GeoIP and IOC; the user-agent fields are the plan's, see UserAgent).
	// nil: never; every event takes the tree path.
	Plan func(logType string) bool
	// UserAgent is the user-agent stage's lookup when that stage runs
	// after this one: plans then write <user_agent_enrichment_field>.* as
	// it would, and it skips the planned events (their Doc is nil). nil:
	// plans are not used for types with user_agent_enrichment_field.
	UserAgent func(original []byte) *UserAgent
	// GeoIP says the geoip stage runs after this one over each type's
	// `geoip` entities, and IOC that the ioc stage does over its `ioc_ip`
	// and `ioc_domain` fields: plans then record in Event.Marks where those
	// stages find what they read and where what they add goes
	// (plan_marks.go), and a type or record whose enrichment they cannot
	// mark takes the tree path. False: no marks.
	GeoIP, IOC bool
}

// UserAgent is what the user-agent stage writes for one user-agent string
// (the fields of useragent.Result).
type UserAgent struct {
	Original                          string
	Name, Version                     string
	OSName, OSFull, OSVersion, Device string
}

// DefaultConfig returns the documented defaults.
func DefaultConfig() Config { return Config{Now: time.Now} }

// Validate checks the configuration (every value is valid today).
func (c Config) Validate() error { return nil }

// Errors wrapped by the reasons of failed records.
var (
	ErrTimestamp      = errors.New("no valid timestamp")
	ErrDocID          = errors.New("no valid doc_id")
	ErrUnknownLogType = errors.New("unknown log type")
	ErrRecord         = errors.New("record cannot be normalised")
)

// Stats counts what the stage did (cumulative, safe to read concurrently).
type Stats struct {
	Normalized      uint64
	Failed          uint64
	TransformErrors uint64 // Go transforms that stopped early (doc kept)
	// Planned: of Normalized, the events written by their output plan
	// (plan_out.go) instead of the tree.
	Planned uint64
}

// Stage is the normalize stage.
type Stage struct {
	reg    *schemas.Registry
	now    func() time.Time
	planOK func(logType string) bool
	ua     func(original []byte) *UserAgent
	plans  planCache
	jt     jtPlans
	// slowMessage: always build @message from the raw record (tests
	// compare the two ways)
	slowMessage bool
	// slowECS: mapECS looks every path up again (no srcPlan; tests
	// compare the two ways)
	slowECS bool
	// slowDirect: mapECS builds the ECS object apart and merges it even
	// when it could write into the record (tests compare the two ways)
	slowDirect bool
	// slowJSONToText: json_to_text looks every path up on its own, in
	// order (no jtPlan groups; tests compare the two ways)
	slowJSONToText bool
	// slowID: no idPre; runPlan builds @message and hashes it per record
	// (tests compare the two ways)
	slowID bool

	normalized, failed, transformErrors, planned atomic.Uint64
}

// New returns the normalize stage; deps.Registry is required.
func New(cfg Config, deps stages.Deps) (*Stage, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("normalize: %w", err)
	}
	if deps.Registry == nil {
		return nil, errors.New("normalize: nil registry")
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	s := &Stage{reg: deps.Registry, now: now, planOK: cfg.Plan, ua: cfg.UserAgent}
	s.plans.enrich = enrichOn{geoip: cfg.GeoIP, ioc: cfg.IOC}
	return s, nil
}

// Name is "normalize".
func (s *Stage) Name() string { return "normalize" }

// Stats returns the counters.
func (s *Stage) Stats() Stats {
	return Stats{Normalized: s.normalized.Load(), Failed: s.failed.Load(), TransformErrors: s.transformErrors.Load(), Planned: s.planned.Load()}
}

// per-object facts derived from the source (cached per Source pointer)
type srcInfo struct {
	src       *stages.Source
	lt        *schemas.LogType
	accountID string // from the S3 key ("" = none)
	region    string
	fileTS    schemas.Time
	hasFileTS bool
	fileTSErr error
	// plan: the type may have an output plan and Config.Plan allows it
	plan bool
	// the strings above as bytes, for output plans
	bucket, key, accountB, regionB []byte
	plainBK                        bool // bucket and key need no JSON escaping
}

type scratch struct {
	si        srcInfo
	msg       []byte
	msgQ      []byte // msg escaped (doc.AppendPyDumpQuoted)
	buf       []byte
	ids       []byte
	ingested  []byte
	now       time.Time
	nowT      schemas.Time
	list      []doc.Node
	strs      []string
	origKeys  []string
	idxKeys   [8]indexKey
	idxVals   [8]string
	idxNext   int
	ecsNodes  []doc.Node
	tc        schemas.TransformContext
	clean     []byte
	numBuf    []byte
	jsonToTxt []doc.Node
	jtHits    []jtHit
	planNodes []doc.Node
	planOld   []bool   // per planNodes: an object of the record (direct mapECS)
	src       srcState // mapECS's resolved paths (plan.go)
	via       viaMeta  // the wrapper facts of the current event (cwl.go)

	lastSrc   srcInfo // the last object's facts (src nil: pins no batch)
	lastOwner *Stage  // the stage (registry, Config) lastSrc is of

	// output plans (plan_out.go)
	pre     idPre // the window's _id md5s (id_batch.go)
	ps      pstate
	op      *outPlan // the plan of opLT for records keyed opNames (nil: none)
	opLT    *schemas.LogType
	opNames []string
	opSrc   *stages.Source // the object whose keys were last compared (nil after Process)
	tsText  []byte

	// the plan of fkLT for flat records keyed fkKeys.Names[:fkN] (plan_flat.go)
	fkPlan *outPlan
	fkLT   *schemas.LogType
	fkKeys *stages.FlatKeys
	fkN    int
}

var scratchPool = sync.Pool{New: func() any { return &scratch{} }}

// Process normalises every Keep event of the batch.
func (s *Stage) Process(ctx context.Context, b *stages.Batch) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	sc := scratchPool.Get().(*scratch)
	defer func() {
		sc.si = srcInfo{}
		sc.tc = schemas.TransformContext{}
		sc.via = viaMeta{}
		sc.op, sc.opLT, sc.opSrc = nil, nil, nil
		sc.ps.slots = sc.ps.slots[:0]
		sc.fkPlan, sc.fkLT, sc.fkKeys = nil, nil, nil
		clear(sc.ps.sv) // they alias the batch's records
		clear(sc.ps.val)
		clear(sc.ps.list)
		clear(sc.pre.msg) // they alias the batch's records too
		sc.pre.msg = sc.pre.msg[:0]
		for i := range sc.idxKeys {
			sc.idxKeys[i] = indexKey{}
		}
		scratchPool.Put(sc)
	}()
	sc.now = s.now()
	sc.nowT = schemas.FromGo(sc.now, 0)
	sc.ingested = sc.nowT.AppendISO(sc.ingested[:0])
	s.hashIDs(sc, b)
	var ok, bad, planned uint64
	for i := range b.Events {
		e := &b.Events[i]
		if e.Status != stages.Keep || e.Doc == nil && e.Flat == nil {
			continue
		}
		if e.Src != sc.si.src {
			s.loadSource(sc, e.Src)
		}
		sc.pre.use(i)
		if sc.si.plan && b.Arena != nil && s.runPlan(sc, e, b.Arena) {
			// written: the tree is not needed any more
			if e.Doc != nil {
				doc.Put(e.Doc)
				e.Doc = nil
			}
			e.Flat = nil
			ok++
			planned++
			continue
		}
		if e.Flat != nil {
			unflatten(e) // the tree path
		}
		if err := s.normalize(sc, e); err != nil {
			e.Fail(err)
			bad++
			continue
		}
		ok++
	}
	s.normalized.Add(ok)
	s.failed.Add(bad)
	s.planned.Add(planned)
	return nil
}

var (
	reAccount = regexp.MustCompile(`[^\p{L}\p{N}_]([0-9]{12})/`)
	reRegion  = regexp.MustCompile(`(global|(us|ap|ca|eu|il|me|mx|sa|af|cn)-(gov-)?[a-zA-Z]+-[0-9])`)
)

func (s *Stage) loadSource(sc *scratch, src *stages.Source) {
	sc.si = srcInfo{src: src}
	if src == nil {
		return
	}
	// A batch's windows (and the next batches) mostly come from the same
	// object: its facts are kept by value, so the key's regexps run once.
	if c := &sc.lastSrc; sc.lastOwner == s && c.lt != nil && c.lt.Name == src.LogType && string(c.bucket) == src.Bucket && string(c.key) == src.Key {
		sc.si = *c
		sc.si.src = src
		return
	}
	sc.si.lt = s.reg.Lookup(src.LogType)
	if m := reAccount.FindStringSubmatch(src.Key); m != nil {
		sc.si.accountID = m[1]
	}
	sc.si.region = reRegion.FindString(src.Key)
	if lt := sc.si.lt; lt != nil && lt.FileTimestampFormat != nil {
		sc.si.fileTS, sc.si.fileTSErr = fileTimestamp(lt.FileTimestampFormat, src.Key)
		sc.si.hasFileTS = sc.si.fileTSErr == nil
	}
	sc.si.bucket, sc.si.key = []byte(src.Bucket), []byte(src.Key)
	sc.si.accountB, sc.si.regionB = []byte(sc.si.accountID), []byte(sc.si.region)
	sc.si.plainBK = pyjson.PlainLen(sc.si.bucket) == len(sc.si.bucket) && pyjson.PlainLen(sc.si.key) == len(sc.si.key)
	sc.si.plan = sc.si.lt != nil && s.planOK != nil && planType(sc.si.lt) && s.planOK(sc.si.lt.Name) &&
		(sc.si.lt.UserAgentEnrichmentField == "" || s.ua != nil)
	sc.lastSrc, sc.lastOwner = sc.si, s
	sc.lastSrc.src = nil
}

func (s *Stage) normalize(sc *scratch, e *stages.Event) error {
	lt := sc.si.lt
	if lt == nil {
		name := ""
		if e.Src != nil {
			name = e.Src.LogType
		}
		return fmt.Errorf("normalize: %w %q", ErrUnknownLogType, name)
	}
	d := e.Doc
	root := d.Root()
	skip := d.Meta.SkipNormalization
	sc.via = viaMeta{e.Env}
	if e.Env == nil {
		sc.via = viaMeta{&noEnvelope}
	}

	// original top-level fields (for field_prefix)
	if lt.FieldPrefix != "" {
		sc.origKeys = sc.origKeys[:0]
		for c := d.First(root); c != doc.Nil; c = d.Next(c) {
			sc.origKeys = append(sc.origKeys, string(d.Key(c)))
		}
	}
	renamed := false
	if !skip {
		for _, r := range lt.RenamedNewFields {
			if v := d.Child(root, r.Old); v != doc.Nil && d.Truthy(v) {
				renamed = true
				d.SetCopy(root, r.New, v)
				d.Delete(root, r.Old)
				for i, k := range sc.origKeys {
					if k == r.Old {
						sc.origKeys[i] = r.New
					}
				}
			}
		}
	}

	ts, err := s.timestamp(sc, lt, d, skip)
	if err != nil {
		return fmt.Errorf("normalize %s: %w", lt.Name, err)
	}

	// @message
	quoted := false
	if !renamed && !s.slowMessage && pristineJSON(lt, e, sc.via) {
		// the tree is the record as parsed: print it, and its escaped
		// form for the encoder, instead of parsing the record again
		sc.msg, sc.msgQ = d.AppendPyDumpQuoted(sc.msg[:0], sc.msgQ[:0])
		quoted = true
	} else if sc.msg, err = message(sc, lt, e); err != nil {
		return fmt.Errorf("normalize %s: %w: %w", lt.Name, ErrRecord, err)
	}
	additional := sc.via.additionalID()

	// basic fields
	if quoted {
		d.SetStringBytesQuoted(root, "@message", sc.msg, sc.msgQ)
	} else {
		d.SetStringBytes(root, "@message", sc.msg)
	}
	sc.buf = ts.AppendISO(sc.buf[:0])
	d.SetStringBytes(root, "@timestamp", sc.buf)
	d.SetString(root, "@log_type", lt.Name)
	d.SetString(root, "@log_s3bucket", e.Src.Bucket)
	d.SetString(root, "@log_s3key", e.Src.Key)
	sc.via.setLogGroupStream(d, root)
	ev := d.SetObject(root, "event")
	d.SetString(ev, "module", lt.Name)
	d.SetStringBytes(ev, "ingested", sc.ingested)

	id, err := sc.docID(lt, e, additional, skip)
	if err != nil {
		return err
	}

	if !skip {
		if err := s.jsonToText(sc, lt, d); err != nil {
			return fmt.Errorf("normalize %s: %w: %w", lt.Name, ErrRecord, err)
		}
	}
	if err := s.mapECS(sc, lt, d); err != nil {
		return fmt.Errorf("normalize %s: %w: %w", lt.Name, ErrRecord, err)
	}

	tc := &sc.tc
	*tc = schemas.TransformContext{Doc: d, LogType: lt}
	if len(lt.ScriptECS) > 0 && lt.Transform != nil {
		if err := lt.Transform(tc); err != nil {
			s.transformErrors.Add(1)
		}
		// es-loader takes the _id from @id after the script ran: the
		// config and inspector transforms replace it.
		if n := d.Child(root, "@id"); d.Kind(n) == doc.String || d.Kind(n) == doc.Number {
			sc.buf = d.AppendPyStr(sc.buf[:0], n)
			if string(sc.buf) != id { // most scripts leave it: keep the string (one allocation less per event)
				id = string(sc.buf)
			}
		}
	}

	if lt.FieldPrefix != "" {
		addFieldPrefix(d, lt.FieldPrefix, sc.origKeys)
	}

	e.Index = sc.indexName(lt, tc, ts)
	suffix := tc.DocIDSuffix
	if suffix == "" && !lt.DocIDSuffixPath.IsZero() {
		if v := pyValue(d, lt.DocIDSuffixPath); v != doc.Nil && d.Truthy(v) {
			sc.buf = d.AppendPyStr(sc.buf[:0], v)
			suffix = string(sc.buf)
		}
	}
	if suffix != "" {
		id = id + "_" + suffix
	}
	e.ID = id
	return nil
}

// pristineJSON reports whether e's @message (message) is what the tree
// prints (doc.AppendPyDumpQuoted), before normalize changes the tree: a
// JSON record parsed whole and as is (no wrapper, no EventBridge detail cut
// out, not repaired, not skipped) with no escape that prints differently
// from its decoded text (doc.PyDumpSafe).
func pristineJSON(lt *schemas.LogType, e *stages.Event, via viaMeta) bool {
	m := &e.Doc.Meta
	return lt.FileFormat == schemas.FormatJSON && via.Via == wire.ViaNone && !lt.ViaCWL && !lt.ViaFirelens &&
		!m.SkipNormalization && m.RecordEnd == 0 && doc.PyDumpSafe(e.Raw)
}

// message builds @message from the raw record.
func message(sc *scratch, lt *schemas.LogType, e *stages.Event) ([]byte, error) {
	if m, ok := sc.via.message(sc.msg); ok {
		return m, nil
	}
	raw := e.Raw
	switch lt.FileFormat {
	case schemas.FormatJSON:
		if m := e.Doc.Meta; m.RecordEnd > 0 && m.RecordEnd <= len(raw) {
			raw = raw[m.RecordStart:m.RecordEnd]
		}
		out, err := pyjson.Append(sc.msg[:0], raw)
		if err != nil {
			if e.Doc.Meta.SkipNormalization {
				return append(sc.msg[:0], validUTF8(sc, raw)...), nil
			}
			return nil, err
		}
		return out, nil
	case schemas.FormatMultiline:
		return append(sc.msg[:0], pyRStrip(validUTF8(sc, raw))...), nil
	case schemas.FormatWinEvtXML:
		// es-loader's FileFormatWinEvtXml yields the event's lines as read,
		// line terminators included, and hashes that for _id: the splitter
		// keeps the last line's '\n' for this (split.KindMultiline).
		return append(sc.msg[:0], validUTF8(sc, raw)...), nil
	}
	if m, ok := rawMessage(lt, raw); ok { // the common case, as hashIDs takes it
		return append(sc.msg[:0], m...), nil
	}
	return append(sc.msg[:0], pyStrip(validUTF8(sc, raw))...), nil
}

func validUTF8(sc *scratch, b []byte) []byte {
	if utf8.Valid(b) {
		return b
	}
	sc.clean = sc.clean[:0]
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if !(r == utf8.RuneError && size == 1) {
			sc.clean = append(sc.clean, b[:size]...)
		}
		b = b[size:]
	}
	return sc.clean
}

// pyValue is utils.value_from_nesteddict_by_dottedkey: the node at p, or
// Nil when missing, null or "".
func pyValue(d *doc.Doc, p doc.Path) doc.Node {
	n := d.Find(p)
	if n == doc.Nil || d.Kind(n) == doc.Null || d.IsEmptyString(n) {
		return doc.Nil
	}
	return n
}

func firstValue(d *doc.Doc, alts []doc.Path) doc.Node {
	for _, p := range alts {
		if v := pyValue(d, p); v != doc.Nil {
			return v
		}
	}
	return doc.Nil
}

func isIntNumber(b []byte) bool {
	for _, c := range b {
		if c == '.' || c == 'e' || c == 'E' {
			return false
		}
	}
	return true
}

func containsByte(b []byte, c byte) bool {
	for _, x := range b {
		if x == c {
			return true
		}
	}
	return false
}

// validIP is Python's ipaddress.ip_address(str) acceptance.
func validIP(b []byte) bool {
	if ok, decided := validIPv4(b); decided {
		return ok
	}
	_, err := netip.ParseAddr(string(b))
	return err == nil
}

// validIPv4 checks dotted-quad text without allocating (decided=false when b
// contains ':' and needs the IPv6 parser). Like Python's ipaddress: exactly
// four decimal octets of 1-3 digits, no leading zeros, at most 255.
func validIPv4(b []byte) (ok, decided bool) {
	if bytes.IndexByte(b, ':') >= 0 {
		return false, false
	}
	parts, n, v := 0, 0, 0
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			if n > 0 && v == 0 {
				return false, true // leading zero
			}
			v = v*10 + int(c-'0')
			n++
			if n > 3 || v > 255 {
				return false, true
			}
		case c == '.':
			if n == 0 {
				return false, true
			}
			parts++
			n, v = 0, 0
		default:
			return false, true
		}
	}
	return parts == 3 && n > 0, true
}
