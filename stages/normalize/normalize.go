package normalize

import (
	"bytes"
	"cmp"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/siemstream/siemstream/internal/doc"
	"github.com/siemstream/siemstream/internal/pyjson"
	"github.com/siemstream/siemstream/schemas"
	"github.com/siemstream/siemstream/stages"
)

// Config configures the normalize stage.
type Config struct {
	// Now is the clock for event.ingested, the syslog year guess and records
	// without any timestamp. Nil (the zero Config): time.Now.
	Now func() time.Time
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
}

// Stage is the normalize stage.
type Stage struct {
	reg *schemas.Registry
	now func() time.Time

	normalized, failed, transformErrors atomic.Uint64
}

// New returns the normalize stage.
func New(reg *schemas.Registry, cfg Config) (stages.Stage, error) {
	if reg == nil {
		return nil, errors.New("normalize: nil registry")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	return &Stage{reg: reg, now: now}, nil
}

// Name is "normalize".
func (s *Stage) Name() string { return "normalize" }

// Stats returns the counters.
func (s *Stage) Stats() Stats {
	return Stats{Normalized: s.normalized.Load(), Failed: s.failed.Load(), TransformErrors: s.transformErrors.Load()}
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
}

type indexKey struct {
	lt     *schemas.LogType
	base   string
	period int64
}

type scratch struct {
	si        srcInfo
	msg       []byte
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
	planNodes []doc.Node
	via       viaMeta // the wrapper facts of the current event (cwl.go)
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
		for i := range sc.idxKeys {
			sc.idxKeys[i] = indexKey{}
		}
		scratchPool.Put(sc)
	}()
	sc.now = s.now()
	sc.nowT = schemas.FromGo(sc.now, 0)
	sc.ingested = sc.nowT.AppendISO(sc.ingested[:0])
	var ok, bad uint64
	for i := range b.Events {
		e := &b.Events[i]
		if e.Status != stages.Keep || e.Doc == nil {
			continue
		}
		if e.Src != sc.si.src {
			s.loadSource(sc, e.Src)
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
	sc.si.lt = s.reg.Lookup(src.LogType)
	if m := reAccount.FindStringSubmatch(src.Key); m != nil {
		sc.si.accountID = m[1]
	}
	sc.si.region = reRegion.FindString(src.Key)
	if lt := sc.si.lt; lt != nil && lt.FileTimestampFormat != nil {
		sc.si.fileTS, sc.si.fileTSErr = fileTimestamp(lt.FileTimestampFormat, src.Key)
		sc.si.hasFileTS = sc.si.fileTSErr == nil
	}
}

// fileTimestamp follows LogS3.extract_file_timestamp (UTC).
func fileTimestamp(re *regexp.Regexp, key string) (schemas.Time, error) {
	m := re.FindStringSubmatch(key)
	if m == nil {
		return schemas.Time{}, fmt.Errorf("%w: file_timestamp_format does not match the S3 key", ErrTimestamp)
	}
	v := map[string]int{"year": 2000, "month": 1, "day": 1}
	for i, name := range re.SubexpNames() {
		if name == "" || i >= len(m) {
			continue
		}
		n, err := strconv.Atoi(m[i])
		if err != nil {
			return schemas.Time{}, fmt.Errorf("%w: file timestamp group %s=%q", ErrTimestamp, name, m[i])
		}
		v[name] = n
	}
	t := time.Date(v["year"], time.Month(v["month"]), v["day"], v["hour"], v["minute"], v["second"], 0, time.UTC)
	if t.Year() != v["year"] || int(t.Month()) != v["month"] || t.Day() != v["day"] || v["microsecond"] > 999999 {
		return schemas.Time{}, fmt.Errorf("%w: file timestamp out of range", ErrTimestamp)
	}
	return schemas.Time{Unix: t.Unix(), Micro: int32(v["microsecond"])}, nil
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
	sc.via = viaMeta{&e.Env}

	// original top-level fields (for field_prefix)
	if lt.FieldPrefix != "" {
		sc.origKeys = sc.origKeys[:0]
		for c := d.First(root); c != doc.Nil; c = d.Next(c) {
			sc.origKeys = append(sc.origKeys, string(d.Key(c)))
		}
	}
	if !skip {
		for _, r := range lt.RenamedNewFields {
			if v := d.Child(root, r.Old); v != doc.Nil && d.Truthy(v) {
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
	sc.msg, err = message(sc, lt, e)
	if err != nil {
		return fmt.Errorf("normalize %s: %w: %w", lt.Name, ErrRecord, err)
	}
	additional := sc.via.additionalID()

	// basic fields
	d.SetStringBytes(root, "@message", sc.msg)
	sc.buf = ts.AppendISO(sc.buf[:0])
	d.SetStringBytes(root, "@timestamp", sc.buf)
	d.SetString(root, "@log_type", lt.Name)
	d.SetString(root, "@log_s3bucket", e.Src.Bucket)
	d.SetString(root, "@log_s3key", e.Src.Key)
	sc.via.setLogGroupStream(d, root)
	ev := d.SetObject(root, "event")
	d.SetString(ev, "module", lt.Name)
	d.SetStringBytes(ev, "ingested", sc.ingested)

	var id string
	switch {
	case skip:
		sc.buf = append(append(sc.buf[:0], sc.msg...), e.Src.Key...)
		if additional == "" {
			sc.buf = append(sc.buf, "None"...)
		} else {
			sc.buf = append(sc.buf, additional...)
		}
		id = md5hex(sc.buf)
		if d.Meta.ErrorMessage != "" {
			errObj := d.SetObject(root, "error")
			d.SetString(errObj, "message", d.Meta.ErrorMessage)
		}
		d.SetString(root, "@id", id)
	case lt.DocID != "":
		n := d.Child(root, lt.DocID)
		if n == doc.Nil {
			return fmt.Errorf("normalize %s: %w: field %q is missing", lt.Name, ErrDocID, lt.DocID)
		}
		switch d.Kind(n) {
		case doc.String, doc.Number, doc.True, doc.False:
		default:
			return fmt.Errorf("normalize %s: %w: field %q is %s", lt.Name, ErrDocID, lt.DocID, d.Kind(n))
		}
		sc.buf = d.AppendPyStr(sc.buf[:0], n)
		if len(sc.buf) == 0 {
			return fmt.Errorf("normalize %s: %w: field %q is empty", lt.Name, ErrDocID, lt.DocID)
		}
		id = string(sc.buf)
		d.SetCopy(root, "@id", n)
	default:
		if additional != "" {
			sc.buf = append(append(sc.buf[:0], sc.msg...), additional...)
			id = md5hex(sc.buf)
		} else {
			id = md5hex(sc.msg)
		}
		d.SetString(root, "@id", id)
	}

	if !skip {
		if err := jsonToText(sc, lt, d); err != nil {
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
			id = string(sc.buf)
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

func md5hex(b []byte) string {
	sum := md5.Sum(b)
	var out [32]byte
	hex.Encode(out[:], sum[:])
	return string(out[:])
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

// jsonToText follows LogParser.clean_multi_type_field.
func jsonToText(sc *scratch, lt *schemas.LogType, d *doc.Doc) error {
	if len(lt.JSONToText) == 0 {
		return nil
	}
	tmp := doc.Nil
	for _, p := range lt.JSONToText {
		v := pyValue(d, p)
		if v == doc.Nil || !d.Truthy(v) {
			continue
		}
		var text []byte
		switch k := d.Kind(v); {
		case k == doc.True || k == doc.False || (k == doc.Number && isIntNumber(d.Bytes(v))):
			text = d.AppendPyStr(sc.buf[:0], v)
		case k == doc.Number:
			return fmt.Errorf("json_to_text field %s holds a float (es-loader raises TypeError)", p)
		case k == doc.String:
			if containsByte(d.Bytes(v), '{') {
				text = doc.AppendPyStrRepr(sc.buf[:0], d.Bytes(v))
			} else {
				continue // str(v) == v
			}
		case k == doc.Object:
			text = d.AppendPyRepr(sc.buf[:0], v) // '{' in dict tests keys only; str(dict) == repr(dict)
		default: // array
			text = d.AppendPyRepr(sc.buf[:0], v)
		}
		sc.buf = text
		if tmp == doc.Nil {
			tmp = d.NewObject()
		}
		obj, last := d.ParentAt(tmp, p)
		d.SetStringBytes(obj, last, text)
	}
	if tmp != doc.Nil {
		d.Merge(d.Root(), tmp)
	}
	return nil
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

// putECS sets path p (relative to obj) to v with put_value_into_nesteddict +
// merge_dicts semantics: numbers and booleans become their Python str(),
// an object merges into an existing object.
func (sc *scratch) putECS(d *doc.Doc, obj doc.Node, p doc.Path, v doc.Node) {
	parent, last := d.ParentAt(obj, p)
	switch d.Kind(v) {
	case doc.String, doc.Array:
		d.SetCopy(parent, last, v)
	case doc.Object:
		if ex := d.Child(parent, last); ex != doc.Nil && d.Kind(ex) == doc.Object {
			tmp := d.NewObject()
			d.Replace(tmp, v)
			d.Merge(ex, tmp)
			return
		}
		d.SetCopy(parent, last, v)
	default:
		sc.numBuf = d.AppendPyStr(sc.numBuf[:0], v)
		d.SetStringBytes(parent, last, sc.numBuf)
	}
}

// mapECS follows LogParser.transform_to_ecs.
func (s *Stage) mapECS(sc *scratch, lt *schemas.LogType, d *doc.Doc) error {
	root := d.Root()
	// what the record says about the cloud
	var csp, account1, region1 doc.Node
	if c := d.Child(root, "cloud"); c != doc.Nil {
		if d.Kind(c) != doc.Object {
			return errors.New("field cloud is not an object")
		}
		csp = d.Child(c, "provider")
		if a := d.Child(c, "account"); a != doc.Nil {
			if d.Kind(a) != doc.Object {
				return errors.New("field cloud.account is not an object")
			}
			account1 = d.Child(a, "id")
		}
		region1 = d.Child(c, "region")
	}

	E := d.NewObject()
	ecs := d.SetObject(E, "ecs")
	d.SetString(ecs, "version", lt.ECSVersion)
	if (csp == doc.Nil || !d.Truthy(csp)) && lt.CloudProvider != "" {
		d.SetString(d.SetObject(E, "cloud"), "provider", lt.CloudProvider)
	}

	plan := planFor(lt)
	if plan.fast {
		sc.planNodes = append(sc.planNodes[:0], make([]doc.Node, len(plan.objs))...)
	}
	for i := range lt.ECS {
		f := &lt.ECS[i]
		if !f.List {
			v := firstValue(d, f.Alternatives)
			if v == doc.Nil {
				continue
			}
			k := d.Kind(v)
			if k == doc.String && f.ValidateIP && !validIP(d.Bytes(v)) {
				continue
			}
			if (k == doc.Object || k == doc.Array) && !d.Truthy(v) {
				continue
			}
			if plan.fast {
				parent := plan.objNode(d, E, sc.planNodes, plan.parent[i])
				switch k {
				case doc.String, doc.Object, doc.Array:
					d.AddCopy(parent, plan.leaf[i], v)
				default:
					sc.numBuf = d.AppendPyStr(sc.numBuf[:0], v)
					d.AddStringBytes(parent, plan.leaf[i], sc.numBuf)
				}
				continue
			}
			sc.putECS(d, E, f.Path, v)
			continue
		}
		sc.list = sc.list[:0]
		for _, alts := range f.Groups {
			v := firstValue(d, alts)
			switch d.Kind(v) {
			case doc.String:
				if !f.ValidateIP || validIP(d.Bytes(v)) {
					sc.list = append(sc.list, v)
				}
			case doc.Array:
				for el := d.First(v); el != doc.Nil; el = d.Next(el) {
					switch d.Kind(el) {
					case doc.Object, doc.Array:
						return fmt.Errorf("%s: list element is a %s (es-loader raises TypeError)", f.Target, d.Kind(el))
					case doc.String:
						if d.IsEmptyString(el) || (f.ValidateIP && !validIP(d.Bytes(el))) {
							continue
						}
					case doc.Null:
						if f.ValidateIP {
							return fmt.Errorf("%s: null list element (es-loader raises)", f.Target)
						}
						continue
					default:
						if !d.Truthy(el) {
							continue
						}
					}
					sc.list = append(sc.list, el)
				}
			}
		}
		if len(sc.list) == 0 {
			continue
		}
		if err := sortUnique(d, &sc.list); err != nil {
			return fmt.Errorf("%s: %w", f.Target, err)
		}
		var arr doc.Node
		if plan.fast {
			arr = d.AddArray(plan.objNode(d, E, sc.planNodes, plan.parent[i]), plan.leaf[i])
		} else {
			parent, last := d.ParentAt(E, f.Path)
			arr = d.SetArray(parent, last)
		}
		for _, v := range sc.list {
			d.AppendCopy(arr, v)
		}
	}

	isCloud := d.Child(E, "cloud") != doc.Nil || d.Child(root, "cloud") != doc.Nil
	if isCloud {
		cloud := d.SetObject(E, "cloud")
		accountID, regionID := sc.via.accountRegion(sc.si.accountID, sc.si.region)
		if account1 == doc.Nil || !d.Truthy(account1) {
			var account2 doc.Node
			if a := d.Child(cloud, "account"); d.Kind(a) == doc.Object {
				account2 = d.Child(a, "id")
			}
			switch {
			case account2 != doc.Nil && d.Truthy(account2):
				if d.Kind(account2) == doc.String && string(d.Bytes(account2)) == "unknown" {
					acc := d.SetObject(cloud, "account")
					d.Replace(acc, d.NewObject())
					if accountID != "" {
						d.SetString(acc, "id", accountID)
					}
				}
			case accountID != "":
				acc := d.SetObject(cloud, "account")
				d.Replace(acc, d.NewObject())
				d.SetString(acc, "id", accountID)
			default:
				acc := d.SetObject(cloud, "account")
				d.Replace(acc, d.NewObject())
				d.SetString(acc, "id", "unknown")
			}
		}
		if region1 == doc.Nil || !d.Truthy(region1) {
			switch {
			case d.Child(cloud, "region") != doc.Nil:
			case regionID != "":
				d.SetString(cloud, "region", regionID)
			default:
				d.SetString(cloud, "region", "unknown")
			}
		}
	}

	if err := sc.via.firelensECS(d, E); err != nil {
		return err
	}
	for i := range lt.StaticECS {
		f := &lt.StaticECS[i]
		parent, last := d.ParentAt(E, f.Path)
		if f.IsList {
			arr := d.SetArray(parent, last)
			for _, v := range f.Values {
				d.AppendString(arr, v)
			}
		} else {
			d.SetString(parent, last, f.Value)
		}
	}
	d.Merge(root, E)
	return nil
}

// sortUnique is sorted(set(list)) for strings (or numbers).
func sortUnique(d *doc.Doc, list *[]doc.Node) error {
	l := *list
	allStr, allNum := true, true
	for _, v := range l {
		switch d.Kind(v) {
		case doc.String:
			allNum = false
		case doc.Number:
			allStr = false
		default:
			allStr, allNum = false, false
		}
	}
	switch {
	case allStr:
		slices.SortStableFunc(l, func(a, b doc.Node) int { return bytes.Compare(d.Bytes(a), d.Bytes(b)) })
		out := l[:1]
		for _, v := range l[1:] {
			if string(d.Bytes(v)) != string(d.Bytes(out[len(out)-1])) {
				out = append(out, v)
			}
		}
		*list = out
	case allNum:
		f := func(n doc.Node) float64 { x, _ := strconv.ParseFloat(string(d.Bytes(n)), 64); return x }
		slices.SortStableFunc(l, func(a, b doc.Node) int { return cmp.Compare(f(a), f(b)) })
		out := l[:1]
		for _, v := range l[1:] {
			if f(v) != f(out[len(out)-1]) {
				out = append(out, v)
			}
		}
		*list = out
	default:
		return errors.New("list mixes strings and other types (es-loader cannot sort it)")
	}
	return nil
}

func addFieldPrefix(d *doc.Doc, prefix string, orig []string) {
	root := d.Root()
	p := d.Child(root, prefix)
	if p == doc.Nil || d.Kind(p) != doc.Object {
		p = d.SetObject(root, prefix)
		d.Replace(p, d.NewObject())
	}
	for _, k := range orig {
		if k == prefix {
			continue
		}
		v := d.Child(root, k)
		if v == doc.Nil {
			continue
		}
		d.SetCopy(p, k, v)
		d.Delete(root, k)
	}
}

// indexName follows LogParser.indexname.
func (sc *scratch) indexName(lt *schemas.LogType, tc *schemas.TransformContext, ts schemas.Time) string {
	base := lt.IndexName
	if tc.IndexName != "" {
		base = tc.IndexName
	}
	switch lt.IndexRotation {
	case schemas.RotateAOSS:
		if lt.IndexSuffix != "" {
			return sc.intern(lt, base, -1, func(b []byte) []byte { return append(append(append(b, base...), '-'), lt.IndexSuffix...) })
		}
		return sc.intern(lt, base, -2, func(b []byte) []byte { return append(append(b, base...), "-001"...) })
	case schemas.RotateAuto:
		return base
	}
	t := ts
	switch {
	case lt.IndexTimeIngested:
		t = sc.nowT
	case tc.HasIndexTime:
		t = tc.IndexTime
	}
	t = t.In(lt.IndexTZ)
	y, m, dd, _, _, _ := t.Civil()
	var period int64
	switch lt.IndexRotation {
	case schemas.RotateDaily:
		period = int64(y)*10000 + int64(m)*100 + int64(dd)
	case schemas.RotateWeekly:
		period = int64(y)*100 + int64(weekW(t))
	case schemas.RotateMonthly:
		period = int64(y)*100 + int64(m)
	default:
		period = int64(y)
	}
	return sc.intern(lt, base, period, func(b []byte) []byte {
		b = append(b, base...)
		if lt.IndexSuffix != "" {
			b = append(append(b, '-'), lt.IndexSuffix...)
		}
		b = append(b, '-')
		b = appendPad(b, y, 4)
		switch lt.IndexRotation {
		case schemas.RotateDaily:
			b = append(b, '-')
			b = appendPad(b, int(m), 2)
			b = append(b, '-')
			b = appendPad(b, dd, 2)
		case schemas.RotateWeekly:
			b = append(b, '-', 'w')
			b = appendPad(b, weekW(t), 2)
		case schemas.RotateMonthly:
			b = append(b, '-')
			b = appendPad(b, int(m), 2)
		}
		return b
	})
}

// weekW is strftime %W: week of the year, Monday first, days before the
// first Monday in week 0.
func weekW(t schemas.Time) int {
	yday := t.YearDay() - 1
	wd := (int(t.Weekday()) + 6) % 7 // Monday = 0
	return (yday + 7 - wd) / 7
}

func appendPad(b []byte, v, width int) []byte {
	s := strconv.Itoa(v)
	for i := len(s); i < width; i++ {
		b = append(b, '0')
	}
	return append(b, s...)
}

// intern returns a cached index name string for (lt, base, period).
func (sc *scratch) intern(lt *schemas.LogType, base string, period int64, build func([]byte) []byte) string {
	k := indexKey{lt, base, period}
	for i := range sc.idxKeys {
		if sc.idxKeys[i] == k && sc.idxVals[i] != "" {
			return sc.idxVals[i]
		}
	}
	sc.buf = build(sc.buf[:0])
	v := string(sc.buf)
	sc.idxKeys[sc.idxNext] = k
	sc.idxVals[sc.idxNext] = v
	sc.idxNext = (sc.idxNext + 1) % len(sc.idxKeys)
	return v
}

var reNano = regexp.MustCompile(`^(.*)([0-9]{2}\.[0-9]{1,9})(.*)`)

// timestamp follows LogParser.get_timestamp.
func (s *Stage) timestamp(sc *scratch, lt *schemas.LogType, d *doc.Doc, skip bool) (schemas.Time, error) {
	root := d.Root()
	if len(lt.TimestampKeys) > 0 && !skip {
		var v doc.Node
		var key string
		for i, k := range lt.TimestampKeys {
			key = k
			switch k {
			case "cwe_timestamp":
				sc.via.setCWETimestamp(d, root)
			case "cwl_timestamp":
				sc.via.setCWLTimestamp(d, root)
			case "file_timestamp":
				if sc.si.fileTSErr != nil {
					return schemas.Time{}, sc.si.fileTSErr
				}
				if !sc.si.hasFileTS {
					return schemas.Time{}, fmt.Errorf("%w: timestamp_key file_timestamp without file_timestamp_format", ErrTimestamp)
				}
				return sc.si.fileTS, nil
			}
			v = pyValue(d, lt.TimestampPaths[i])
			if v != doc.Nil {
				break
			}
		}
		if v == doc.Nil {
			return schemas.Time{}, fmt.Errorf("%w: field %q is missing or empty", ErrTimestamp, key)
		}
		for _, f := range lt.TimestampFormats {
			t, ok, err := s.parseTime(sc, lt, d, v, f)
			if err != nil {
				return schemas.Time{}, fmt.Errorf("%w: field %q: %w", ErrTimestamp, key, err)
			}
			if ok {
				return t, nil
			}
		}
		return schemas.Time{}, fmt.Errorf("%w: field %q value %q matches no timestamp_format", ErrTimestamp, key, clip(d.AppendPyStr(nil, v)))
	}
	if n := d.Child(root, "@timestamp"); n != doc.Nil && !skip {
		v := pyValue(d, doc.ParsePath("@timestamp"))
		if v == doc.Nil {
			return schemas.Time{}, fmt.Errorf("%w: field @timestamp is empty", ErrTimestamp)
		}
		t, ok, err := s.parseTime(sc, lt, d, v, lt.TimestampFormat)
		if err != nil || !ok {
			return schemas.Time{}, fmt.Errorf("%w: field @timestamp value %q does not match timestamp_format", ErrTimestamp, clip(d.AppendPyStr(nil, v)))
		}
		return t, nil
	}
	if sc.si.hasFileTS {
		return sc.si.fileTS, nil
	}
	if t, ok := sc.via.cwlTime(); ok {
		return t, nil
	}
	return sc.nowT, nil
}

func clip(b []byte) string {
	if len(b) > 64 {
		b = append(b[:61:61], "..."...)
	}
	return string(b)
}

// parseTime parses one value with one format. err: es-loader would raise
// (not a ValueError), so no other format is tried.
func (s *Stage) parseTime(sc *scratch, lt *schemas.LogType, d *doc.Doc, v doc.Node, f schemas.TimeFormat) (schemas.Time, bool, error) {
	switch d.Kind(v) {
	case doc.String:
		b := d.Bytes(v)
		if lt.TimestampNano {
			if m := reNano.FindSubmatchIndex(b); m != nil && m[7] > m[6] {
				g2 := b[m[4]:m[5]]
				if len(g2) > 9 {
					g2 = g2[:9]
				}
				sc.buf = append(sc.buf[:0], b[m[2]:m[3]]...)
				sc.buf = append(sc.buf, g2...)
				for i := len(g2); i < 9; i++ {
					sc.buf = append(sc.buf, '0')
				}
				sc.buf = append(sc.buf, b[m[6]:m[7]]...)
				b = sc.buf
			}
		}
		t, ok := f.ParseString(b, lt.TimestampTZ, sc.now)
		return t, ok, nil
	case doc.Number, doc.True, doc.False:
		if lt.TimestampNano {
			return schemas.Time{}, false, errors.New("timestamp_nano on a non-string value")
		}
		if f.Kind != schemas.TimeEpoch {
			return schemas.Time{}, false, fmt.Errorf("a %s is not a string for format %q", d.Kind(v), f.Layout)
		}
		var x float64
		switch d.Kind(v) {
		case doc.True:
			x = 1
		case doc.False:
			x = 0
		default:
			x, _ = strconv.ParseFloat(string(d.Bytes(v)), 64)
		}
		t, ok := schemas.EpochToTime(x, lt.TimestampTZ)
		if !ok {
			return schemas.Time{}, false, errors.New("epoch value out of range")
		}
		return t, true, nil
	}
	return schemas.Time{}, false, fmt.Errorf("a %s cannot be a timestamp", d.Kind(v))
}
