// Package doc is the ordered JSON document tree that the stages build and
// edit without map[string]any.
//
// A Doc holds all of its nodes in one slice and all of its strings in one
// byte arena; a Node is an index into the slice. Objects keep insertion order
// (a key set again keeps its first position, like a Python dict), arrays keep
// order, strings are stored decoded, numbers keep their JSON text.
//
// Lifetime: take a Doc with Get, fill and edit it while the batch is
// processed, and give it back with Put when the batch is reset (the stages
// package does this in Batch.Reset). Everything a Doc returns as []byte
// (Bytes, Key, Encode) aliases its buffers and is valid until Reset/Put.
// Strings are immutable once written, so nodes may share them freely.
//
// es-loader semantics provided here (see shared/notes/es-loader.md):
//   - Path lookups follow utils.value_from_nesteddict_by_dottedkey: dotted
//     keys, an all-digit segment indexes an array (never an object key);
//   - Merge follows utils.merge_dicts (recursive for objects, otherwise the
//     later value replaces the earlier one in place);
//   - Encode applies LogParser.del_none and the 32766-byte truncation rule
//     (LogParser.truncate_big_field) while it serialises.
//
// Consumers: decode (builds the parsed record), normalize (maps it to ECS),
// geoip/ioc (read <entity>.ip, write <entity>.geo/.as and threat.*), encode
// (serialises it as the _source). ToAny exists for rare slow paths
// (JMESPath conditions) and is not meant for the hot path.
package doc

import (
	"encoding/json"
	"strconv"
	"sync"
	"unicode/utf8"

	"github.com/siemstream/siemstream/internal/pyjson"
)

// Kind is the JSON type of a node.
type Kind uint8

// Node kinds.
const (
	Invalid Kind = iota // the Nil node
	Null
	False
	True
	Number
	String
	Object
	Array
)

func (k Kind) String() string {
	return [...]string{"invalid", "null", "false", "true", "number", "string", "object", "array"}[k]
}

// Node is a handle to a node of one Doc. The zero Node (Nil) means "absent".
type Node int32

// Nil is the absent node.
const Nil Node = 0

type span struct{ off, n uint32 }

type node struct {
	key               span
	val               span
	first, last, next Node
	// no key hash here: the root index keeps it (rootSlot.h), so a node
	// is 32 bytes, two to a cache line. A batch's documents outgrow the
	// caches between decode and encode, and normalize and encode mostly
	// wait for memory: smaller nodes are fewer misses.
	kind Kind
	// kplain / vplain: the key / the string value is known to be plain
	// text (pyjson.PlainLen == its length), so the encoder copies it
	// between quotes without scanning it again. The parser knows it for
	// free and copies carry it. false is always safe (the encoder scans):
	// whatever sets key or val must set these or clear them.
	kplain, vplain bool
}

// Meta carries per-record facts about the document that are not part of it
// but that normalize needs. The wrapper's facts (es-loader's "logmeta":
// CloudWatch Logs, FireLens, EventBridge) are in the event's
// wire.Envelope, not here.
type Meta struct {
	// SkipNormalization: the record could not be parsed but is indexed as
	// is, with ErrorMessage in error.message (es-loader __skip_normalization).
	SkipNormalization bool
	ErrorMessage      string
	// RecordStart/RecordEnd: when RecordEnd > 0, the record is
	// Event.Raw[RecordStart:RecordEnd] (e.g. an EventBridge detail); its
	// @message is made from that part only.
	RecordStart, RecordEnd int
}

// Doc is one event's document tree.
type Doc struct {
	nodes []node
	arena []byte
	out   []byte
	// rootIdx is an open-addressing hash index of the root object's members
	// (the root holds most members and takes most lookups): slot values are
	// node indexes, 0 = empty, -1 = deleted, with the key's hash.
	rootIdx  []rootSlot
	rootUsed int
	rootOld  []rootSlot // rootGrow's copy of the old slots
	// memo is the last root member Find looked up (or its absence):
	// normalize's paths share their first segment (34 CloudTrail
	// json_to_text paths under requestParameters/responseElements). Any
	// change to the root's membership clears it.
	memo rootMemo
	// quoted: a member whose escaped value is known (SetStringBytesQuoted)
	quoted quotedVal
	// slow: take the plain, obviously correct path instead of the fast
	// ones: no root index or memo (root lookups walk the members like any
	// object's), no string marked plain (the parser's marks are dropped,
	// so the encoder scans every string). The differential tests and fuzz
	// targets compare the two; production never sets it; Reset keeps it.
	slow bool
	// Meta is reset by Reset.
	Meta Meta
}

var pool = sync.Pool{New: func() any { return New() }}

// Get takes an empty Doc from the pool.
func Get() *Doc { return pool.Get().(*Doc) }

// Put resets d and returns it to the pool. d must not be used afterwards.
func Put(d *Doc) {
	if d == nil {
		return
	}
	if cap(d.arena) > 1<<20 || cap(d.nodes) > 1<<16 || cap(d.out) > 1<<20 {
		return // let unusually large documents be collected
	}
	d.Reset()
	pool.Put(d)
}

// New returns an empty document (an empty root object).
func New() *Doc {
	d := &Doc{nodes: make([]node, 0, 64), arena: make([]byte, 0, 1024)}
	d.Reset()
	return d
}

// Reset empties the document, keeping its buffers.
func (d *Doc) Reset() {
	d.nodes = append(d.nodes[:0], node{}, node{kind: Object})
	clear(d.rootIdx)
	d.rootUsed = 0
	d.memo = rootMemo{}
	d.quoted = quotedVal{}
	d.arena = d.arena[:0]
	d.out = d.out[:0]
	d.Meta = Meta{}
}

// Root is the top-level object.
func (d *Doc) Root() Node { return 1 }

// NodeCount is the number of nodes allocated so far (for tests and metrics).
func (d *Doc) NodeCount() int { return len(d.nodes) - 1 }

// Kind of n (Invalid for Nil).
func (d *Doc) Kind(n Node) Kind { return d.nodes[n].kind }

// First child of an object or array, or Nil.
func (d *Doc) First(n Node) Node {
	if k := d.nodes[n].kind; k != Object && k != Array {
		return Nil
	}
	return d.nodes[n].first
}

// Next sibling of n, or Nil.
func (d *Doc) Next(n Node) Node {
	if n == Nil {
		return Nil
	}
	return d.nodes[n].next
}

// Len is the number of children of an object or array (0 otherwise).
func (d *Doc) Len(n Node) int {
	c := 0
	for x := d.First(n); x != Nil; x = d.nodes[x].next {
		c++
	}
	return c
}

// Key is the member name of n in its parent object.
func (d *Doc) Key(n Node) []byte { return d.bytes(d.nodes[n].key) }

// Bytes is the content of a string node, the JSON text of a number node,
// and nil for other kinds.
func (d *Doc) Bytes(n Node) []byte {
	switch d.nodes[n].kind {
	case String, Number:
		return d.bytes(d.nodes[n].val)
	}
	return nil
}

// Text is Bytes as a newly allocated string.
func (d *Doc) Text(n Node) string { return string(d.Bytes(n)) }

// IsEmptyString reports whether n is a string node holding "".
func (d *Doc) IsEmptyString(n Node) bool {
	return d.nodes[n].kind == String && d.nodes[n].val.n == 0
}

func (d *Doc) bytes(s span) []byte { return d.arena[s.off : s.off+s.n : s.off+s.n] }

func (d *Doc) str(s string) span {
	off := len(d.arena)
	d.arena = append(d.arena, s...)
	return span{uint32(off), uint32(len(s))}
}

func (d *Doc) strb(b []byte) span {
	off := len(d.arena)
	d.arena = append(d.arena, b...)
	return span{uint32(off), uint32(len(b))}
}

func (d *Doc) newNode(kind Kind, key span, kplain bool) Node {
	d.nodes = append(d.nodes, node{kind: kind, key: key, kplain: kplain})
	return Node(len(d.nodes) - 1)
}

// newKeyed returns a new node of kind with key (copied into the arena).
// Whether the key is plain is left to the encoder: scanning it here would
// cost the same, and members del_none drops are never scanned there.
func (d *Doc) newKeyed(kind Kind, key string) Node {
	return d.newNode(kind, d.str(key), false)
}

// setString makes n the string held at sp (plainness left to the encoder,
// as for keys).
func (d *Doc) setString(n Node, sp span) {
	x := &d.nodes[n]
	x.kind = String
	x.val = sp
	x.vplain = false
	x.first, x.last = Nil, Nil
}

// setKind makes n a value of kind without content (null, bools, empty
// containers) or a number whose text is at sp.
func (d *Doc) setKind(n Node, kind Kind, sp span) {
	x := &d.nodes[n]
	x.kind = kind
	x.val = sp
	x.vplain = false
	x.first, x.last = Nil, Nil
}

func (d *Doc) link(parent, c Node) {
	if parent == 1 {
		d.rootInsert(c, hashKey(d.keyOf(int32(c))))
	}
	p := &d.nodes[parent]
	if p.last == Nil {
		p.first = c
	} else {
		d.nodes[p.last].next = c
	}
	p.last = c
}

// Child returns the member key of object obj, or Nil.
func (d *Doc) Child(obj Node, key string) Node {
	if obj == 1 {
		return d.rootLookup(key, hashKey(key))
	}
	if d.nodes[obj].kind != Object {
		return Nil
	}
	for c := d.nodes[obj].first; c != Nil; c = d.nodes[c].next {
		k := d.nodes[c].key
		if int(k.n) == len(key) && string(d.arena[k.off:k.off+k.n]) == key {
			return c
		}
	}
	return Nil
}

func (d *Doc) childBytes(obj Node, key []byte) Node {
	if obj == 1 {
		k := unsafeString(key)
		return d.rootLookup(k, hashKey(k))
	}
	for c := d.nodes[obj].first; c != Nil; c = d.nodes[c].next {
		k := d.nodes[c].key
		if int(k.n) == len(key) && string(d.arena[k.off:k.off+k.n]) == string(key) {
			return c
		}
	}
	return Nil
}

// Index returns element i of array arr, or Nil.
func (d *Doc) Index(arr Node, i int) Node {
	if d.nodes[arr].kind != Array || i < 0 {
		return Nil
	}
	for c := d.nodes[arr].first; c != Nil; c = d.nodes[c].next {
		if i == 0 {
			return c
		}
		i--
	}
	return Nil
}

// member returns the member key of obj, creating it (as null) at the end if
// absent. An existing member keeps its position; its old value is dropped.
func (d *Doc) member(obj Node, key string) Node {
	if obj == 1 {
		h := hashKey(key)
		if c := d.rootLookup(key, h); c != Nil {
			d.nodes[c].first, d.nodes[c].last = Nil, Nil
			return c
		}
		c := d.newKeyed(Null, key)
		d.linkRoot(c, h)
		return c
	}
	if c := d.Child(obj, key); c != Nil {
		d.nodes[c].first, d.nodes[c].last = Nil, Nil
		return c
	}
	c := d.newKeyed(Null, key)
	d.link(obj, c)
	return c
}

// linkRoot appends c (whose key hashes to h) to the root object.
func (d *Doc) linkRoot(c Node, h uint32) {
	d.rootInsert(c, h)
	p := &d.nodes[1]
	if p.last == Nil {
		p.first = c
	} else {
		d.nodes[p.last].next = c
	}
	p.last = c
}

// SetString sets obj[key] to the string val and returns the member.
func (d *Doc) SetString(obj Node, key, val string) Node {
	c := d.member(obj, key)
	d.setString(c, d.str(val))
	return c
}

// SetStringBytes is SetString with the value as bytes (copied).
func (d *Doc) SetStringBytes(obj Node, key string, val []byte) Node {
	c := d.member(obj, key)
	d.setString(c, d.strb(val))
	return c
}

// SetNumber sets obj[key] to a number given as JSON number text.
func (d *Doc) SetNumber(obj Node, key string, num []byte) Node {
	c := d.member(obj, key)
	d.setKind(c, Number, d.strb(num))
	return c
}

// SetBool sets obj[key] to true or false.
func (d *Doc) SetBool(obj Node, key string, v bool) Node {
	c := d.member(obj, key)
	k := False
	if v {
		k = True
	}
	d.setKind(c, k, span{})
	return c
}

// SetNull sets obj[key] to null.
func (d *Doc) SetNull(obj Node, key string) Node {
	c := d.member(obj, key)
	d.setKind(c, Null, span{})
	return c
}

// SetObject returns obj[key] if it is an object, else sets it to a new empty
// object (replacing any other value in place) and returns that.
func (d *Doc) SetObject(obj Node, key string) Node {
	if obj == 1 { // hash the key once for the lookup and the index
		h := hashKey(key)
		c := d.rootLookup(key, h)
		if c == Nil {
			c = d.newKeyed(Object, key)
			d.linkRoot(c, h)
		} else if d.nodes[c].kind != Object {
			d.setKind(c, Object, span{})
		}
		return c
	}
	if c := d.Child(obj, key); c != Nil {
		if d.nodes[c].kind != Object {
			d.setKind(c, Object, span{})
		}
		return c
	}
	c := d.newKeyed(Object, key)
	d.link(obj, c)
	return c
}

// SetArray sets obj[key] to a new empty array and returns it.
func (d *Doc) SetArray(obj Node, key string) Node {
	c := d.member(obj, key)
	d.setKind(c, Array, span{})
	return c
}

// SetCopy sets obj[key] to a deep copy of src (a node of the same Doc).
func (d *Doc) SetCopy(obj Node, key string, src Node) Node {
	c := d.member(obj, key)
	d.copyInto(c, src)
	return c
}

// Move links src (a detached node, e.g. from NewObject) as obj[key],
// replacing an existing member in place. src must not be linked elsewhere.
func (d *Doc) Move(obj Node, key string, src Node) Node {
	if c := d.Child(obj, key); c != Nil {
		d.replaceWith(c, src)
		return c
	}
	d.nodes[src].key = d.str(key)
	d.nodes[src].kplain = false
	d.nodes[src].next = Nil
	d.link(obj, src)
	return src
}

// Replace overwrites the value of n (keeping its key and position) with a
// deep copy of src.
func (d *Doc) Replace(n, src Node) { d.copyInto(n, src) }

// ReplaceString overwrites the value of n with the string val.
func (d *Doc) ReplaceString(n Node, val string) { d.setString(n, d.str(val)) }

// ReplaceStringBytes overwrites the value of n with the string val.
func (d *Doc) ReplaceStringBytes(n Node, val []byte) { d.setString(n, d.strb(val)) }

func (d *Doc) replaceWith(dst, src Node) {
	s := d.nodes[src]
	n := &d.nodes[dst]
	n.kind, n.val, n.vplain, n.first, n.last = s.kind, s.val, s.vplain, s.first, s.last
}

func (d *Doc) copyInto(dst, src Node) {
	s := d.nodes[src]
	x := &d.nodes[dst]
	x.kind, x.val, x.vplain = s.kind, s.val, s.vplain
	x.first, x.last = Nil, Nil
	if s.kind != Object && s.kind != Array {
		return
	}
	for c := s.first; c != Nil; c = d.nodes[c].next {
		nc := d.newNode(Null, d.nodes[c].key, d.nodes[c].kplain)
		d.copyInto(nc, c)
		d.link(dst, nc)
	}
}

// NewObject returns a new detached empty object (not reachable from the
// root until Move or Merge links it).
func (d *Doc) NewObject() Node { return d.newNode(Object, span{}, false) }

// NewArray returns a new detached empty array.
func (d *Doc) NewArray() Node { return d.newNode(Array, span{}, false) }

// AppendString appends a string element to array arr.
func (d *Doc) AppendString(arr Node, val string) Node {
	c := d.newNode(String, span{}, false)
	d.setString(c, d.str(val))
	d.link(arr, c)
	return c
}

// AppendStringBytes appends a string element to array arr.
func (d *Doc) AppendStringBytes(arr Node, val []byte) Node {
	c := d.newNode(String, span{}, false)
	d.setString(c, d.strb(val))
	d.link(arr, c)
	return c
}

// AppendCopy appends a deep copy of src to array arr.
func (d *Doc) AppendCopy(arr Node, src Node) Node {
	c := d.newNode(Null, span{}, false)
	d.copyInto(c, src)
	d.link(arr, c)
	return c
}

// AppendObject appends a new empty object to array arr.
func (d *Doc) AppendObject(arr Node) Node {
	c := d.newNode(Object, span{}, false)
	d.link(arr, c)
	return c
}

// Delete removes obj[key]; it reports whether the key existed.
func (d *Doc) Delete(obj Node, key string) bool {
	if d.nodes[obj].kind != Object {
		return false
	}
	prev := Nil
	for c := d.nodes[obj].first; c != Nil; c = d.nodes[c].next {
		k := d.nodes[c].key
		if int(k.n) == len(key) && string(d.arena[k.off:k.off+k.n]) == key {
			next := d.nodes[c].next
			if prev == Nil {
				d.nodes[obj].first = next
			} else {
				d.nodes[prev].next = next
			}
			if d.nodes[obj].last == c {
				d.nodes[obj].last = prev
			}
			d.nodes[c].next = Nil
			if obj == 1 {
				d.rootRemove(c)
			}
			return true
		}
		prev = c
	}
	return false
}

// Merge merges object src into object dst with es-loader's merge_dicts
// semantics: for every member of src, if dst has the key and both values are
// objects they are merged recursively, otherwise src's value replaces dst's
// in place; new keys are appended. src's nodes are moved, not copied: src
// must be a detached object (NewObject) that is not used afterwards.
func (d *Doc) Merge(dst, src Node) {
	if d.nodes[dst].kind != Object || d.nodes[src].kind != Object {
		return
	}
	c := d.nodes[src].first
	d.nodes[src].first, d.nodes[src].last = Nil, Nil
	for c != Nil {
		next := d.nodes[c].next
		var e Node
		var h uint32
		if dst == 1 { // hash the key once for the lookup and the index
			k := d.keyOf(int32(c))
			h = hashKey(k)
			e = d.rootLookup(k, h)
		} else {
			e = d.childBytes(dst, d.bytes(d.nodes[c].key))
		}
		switch {
		case e == Nil && dst == 1:
			d.nodes[c].next = Nil
			d.linkRoot(c, h)
		case e == Nil:
			d.nodes[c].next = Nil
			d.link(dst, c)
		case d.nodes[e].kind == Object && d.nodes[c].kind == Object:
			d.Merge(e, c)
		default:
			d.replaceWith(e, c)
		}
		c = next
	}
}

// Equal reports whether a and b hold equal JSON values (numbers compared
// textually, objects in order).
func (d *Doc) Equal(a, b Node) bool {
	na, nb := d.nodes[a], d.nodes[b]
	if na.kind != nb.kind {
		return false
	}
	switch na.kind {
	case String, Number:
		return string(d.bytes(na.val)) == string(d.bytes(nb.val))
	case Object, Array:
		x, y := na.first, nb.first
		for x != Nil && y != Nil {
			if na.kind == Object && string(d.Key(x)) != string(d.Key(y)) {
				return false
			}
			if !d.Equal(x, y) {
				return false
			}
			x, y = d.nodes[x].next, d.nodes[y].next
		}
		return x == Nil && y == Nil
	}
	return true
}

// ToAny converts n to map[string]any / []any / string / json.Number / bool /
// nil. It allocates per node: use it only off the hot path (e.g. JMESPath
// conditions, tests).
func (d *Doc) ToAny(n Node) any {
	switch d.nodes[n].kind {
	case Null, Invalid:
		return nil
	case True:
		return true
	case False:
		return false
	case Number:
		return json.Number(d.Bytes(n))
	case String:
		return string(d.Bytes(n))
	case Array:
		out := make([]any, 0, d.Len(n))
		for c := d.nodes[n].first; c != Nil; c = d.nodes[c].next {
			out = append(out, d.ToAny(c))
		}
		return out
	}
	out := make(map[string]any, d.Len(n))
	for c := d.nodes[n].first; c != Nil; c = d.nodes[c].next {
		out[string(d.Key(c))] = d.ToAny(c)
	}
	return out
}

// AppendValueJSON appends n as compact JSON without any cleaning.
func (d *Doc) AppendValueJSON(dst []byte, n Node) []byte {
	var w writer
	w.d = d
	return w.value(dst, n, false, false)
}

// AppendJSON appends the whole document as compact JSON, applying
// es-loader's del_none (see Encode) but not the truncation rule.
func (d *Doc) AppendJSON(dst []byte) []byte {
	var w writer
	w.d = d
	return w.object(dst, 1, true)
}

// Truncation constants of es-loader's LogParser.json / truncate_big_field.
const (
	// TruncateDocChars: documents whose Python json.dumps form (ASCII
	// escaped) has at least this many characters are checked.
	TruncateDocChars = 65536
	// TruncateFieldBytes: strings of at least this many UTF-8 bytes (and at
	// least TruncateFieldChars characters) are cut, except @message.
	TruncateFieldBytes = 32766
	TruncateFieldChars = 16383
	// TruncateKeepBytes bytes are kept, then TruncatedMark is appended.
	TruncateKeepBytes = 32753
	TruncatedMark     = "<<TRUNCATED>>"
)

// Encode serialises the document into the Doc's own output buffer and
// returns it (valid until Reset/Put). It applies, at serialisation time and
// without changing the tree:
//   - del_none: members whose value is null, "", "-", "null", "[]", an empty
//     array, [""] or an object that is empty after cleaning are left out;
//     cleaning recurses through objects and through objects that are direct
//     elements of arrays, as es-loader does (nothing else inside arrays is
//     cleaned; the root is never removed);
//   - truncation: if the cleaned document's Python json.dumps form has at
//     least 65536 characters, every string member reached through objects
//     only, of at least 32766 bytes and 16383 characters and whose key is not
//     "@message", is cut to 32753 bytes (on a character boundary) followed by
//     "<<TRUNCATED>>".
//
// Truncated reports whether the truncation rule changed anything.
func (d *Doc) Encode() (out []byte, truncated bool) {
	d.out, truncated = d.AppendEncode(d.out[:0])
	return d.out, truncated
}

// AppendEncode is Encode appending to dst instead of the Doc's own buffer:
// the result does not alias the Doc, which can be Put right away.
func (d *Doc) AppendEncode(dst []byte) (out []byte, truncated bool) {
	start := len(dst)
	w := writer{d: d}
	dst = w.object(dst, 1, true)
	if !w.big {
		return dst, false
	}
	scratch := make([]byte, 0, len(dst)-start+(len(dst)-start)/2)
	scratch, err := pyjson.AppendASCII(scratch, dst[start:])
	if err != nil || len(scratch) < TruncateDocChars {
		return dst, false
	}
	w = writer{d: d, truncate: true}
	return w.object(dst[:start], 1, true), true
}

type writer struct {
	d        *Doc
	truncate bool
	big      bool // saw a string the truncation rule could apply to
}

// removable reports whether del_none drops a member holding x (objects are
// decided by the caller after cleaning).
func (w *writer) removable(x *node) bool {
	switch x.kind {
	case Null:
		return true
	case String:
		return x.val.n <= 4 && Removable(w.d.bytes(x.val))
	case Array:
		if x.first == Nil {
			return true
		}
		f := &w.d.nodes[x.first]
		return f.next == Nil && f.kind == String && f.val.n == 0
	}
	return false
}

// object writes object n; clean applies del_none; viaObjects says n is
// reached from the root through objects only (truncation scope).
func (w *writer) object(dst []byte, n Node, viaObjects bool) []byte {
	d := w.d
	dst = append(dst, '{')
	first := true
	for c := d.nodes[n].first; c != Nil; c = d.nodes[c].next {
		x := &d.nodes[c]
		if w.removable(x) {
			continue
		}
		mark := len(dst)
		if !first {
			dst = append(dst, ',')
		}
		dst = AppendKey(dst, d.bytes(x.key), x.kplain)
		switch x.kind {
		case Object:
			body := len(dst)
			dst = w.object(dst, c, viaObjects)
			if len(dst)-body == 2 { // {} after cleaning: drop the member
				dst = dst[:mark]
				continue
			}
		case String:
			v := d.bytes(x.val)
			if viaObjects && len(v) >= TruncateFieldBytes && string(d.bytes(x.key)) != "@message" &&
				utf8.RuneCount(v) >= TruncateFieldChars {
				w.big = true
				if w.truncate {
					v = truncateUTF8(v, TruncateKeepBytes)
					dst = AppendQuotedAny(dst, v)
					dst = append(dst[:len(dst)-1], TruncatedMark...)
					dst = append(dst, '"')
					break
				}
			}
			if q, ok := d.quotedFor(c, x); ok && !w.truncate {
				dst = append(dst, '"')
				dst = append(dst, q...)
				dst = append(dst, '"')
				break
			}
			dst = AppendQuoted(dst, v, x.vplain)
		default:
			dst = w.value(dst, c, true, false)
		}
		first = false
	}
	return append(dst, '}')
}

// truncateUTF8 returns the longest prefix of v that is at most n bytes and
// valid UTF-8, which is what es-loader's LogParser.truncate_txt keeps: it
// encodes the str, cuts the bytes at n and retries the strict decode with
// n-1, n-2, ... until it succeeds. That prefix ends where the first sequence
// that does not decode inside v[:n] begins (a character cut by n, or an
// invalid byte before it), so one forward scan finds it.
func truncateUTF8(v []byte, n int) []byte {
	if len(v) <= n {
		return v
	}
	v = v[:n]
	if utf8.Valid(v) {
		return v
	}
	for i := 0; i < len(v); {
		r, size := utf8.DecodeRune(v[i:])
		if r == utf8.RuneError && size == 1 {
			return v[:i]
		}
		i += size
	}
	return v
}

// value writes any node. clean: n is a member of a cleaned object or an
// element of an array inside one (object elements are cleaned, nested
// arrays are written raw).
func (w *writer) value(dst []byte, n Node, clean, _ bool) []byte {
	d := w.d
	x := d.nodes[n]
	switch x.kind {
	case Null, Invalid:
		return append(dst, "null"...)
	case True:
		return append(dst, "true"...)
	case False:
		return append(dst, "false"...)
	case Number:
		return append(dst, d.bytes(x.val)...)
	case String:
		return AppendQuoted(dst, d.bytes(x.val), x.vplain)
	case Object:
		if clean {
			return w.object(dst, n, false)
		}
		dst = append(dst, '{')
		for c := x.first; c != Nil; c = d.nodes[c].next {
			if c != x.first {
				dst = append(dst, ',')
			}
			dst = AppendKey(dst, d.bytes(d.nodes[c].key), d.nodes[c].kplain)
			dst = w.value(dst, c, false, false)
		}
		return append(dst, '}')
	}
	dst = append(dst, '[')
	for c := x.first; c != Nil; c = d.nodes[c].next {
		if c != x.first {
			dst = append(dst, ',')
		}
		// del_none cleans dicts that are direct list elements only
		dst = w.value(dst, c, clean && d.nodes[c].kind == Object, false)
	}
	return append(dst, ']')
}

// FormatNumberPython appends Python's str() of number node n (see
// pyjson.AppendNumber); es-loader stringifies ECS scalars that way.
func (d *Doc) FormatNumberPython(dst []byte, n Node) []byte {
	return pyjson.AppendNumber(dst, d.Bytes(n))
}

// SetInt sets obj[key] to the number v.
func (d *Doc) SetInt(obj Node, key string, v int64) Node {
	var b [20]byte
	return d.SetNumber(obj, key, strconv.AppendInt(b[:0], v, 10))
}

// AddStringBytes appends obj[key] = val without checking whether key is
// already present. Use it only when keys are known to be unique (e.g. a CSV
// header without repeated names); it is faster than SetStringBytes.
func (d *Doc) AddStringBytes(obj Node, key string, val []byte) Node {
	c := d.newKeyed(String, key)
	d.setString(c, d.strb(val))
	d.link(obj, c)
	return c
}

// AddRootStringBytes is AddStringBytes on the root with a key hash computed
// by HashKey (decoders compute it once per header).
func (d *Doc) AddRootStringBytes(key string, h uint32, val []byte) Node {
	c := d.newKeyed(String, key)
	d.setString(c, d.strb(val))
	d.linkRoot(c, h)
	return c
}

// AddRootNull is AddNull on the root with a key hash computed by HashKey.
func (d *Doc) AddRootNull(key string, h uint32) Node {
	c := d.newKeyed(Null, key)
	d.linkRoot(c, h)
	return c
}

// add appends obj[key] = an empty value of kind (Object, Array, Null)
// without checking for an existing key.
func (d *Doc) add(obj Node, key string, kind Kind) Node {
	c := d.newKeyed(kind, key)
	d.link(obj, c)
	return c
}

// AddObject appends obj[key] = {} without checking for an existing key.
func (d *Doc) AddObject(obj Node, key string) Node { return d.add(obj, key, Object) }

// AddCopy appends obj[key] = deep copy of src without checking for an
// existing key.
func (d *Doc) AddCopy(obj Node, key string, src Node) Node {
	c := d.newKeyed(Null, key)
	d.copyInto(c, src)
	d.link(obj, c)
	return c
}

// AddArray appends obj[key] = [] without checking for an existing key.
func (d *Doc) AddArray(obj Node, key string) Node { return d.add(obj, key, Array) }

// AddNull appends obj[key] = null without checking for an existing key.
func (d *Doc) AddNull(obj Node, key string) Node { return d.add(obj, key, Null) }
