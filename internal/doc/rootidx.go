package doc

import (
	"encoding/binary"
	"unsafe"
)

func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

func unsafeBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// HashKey is the hash the root index uses for a member name.
func HashKey(k string) uint32 { return hashKey(k) }

// hashKey hashes eight bytes at a time (member names are mostly 4 to 24
// bytes: one to three multiplications instead of one per byte). Short
// names are read with two overlapping loads.
func hashKey(k string) uint32 {
	const m1, m2 = 0x9e3779b97f4a7c15, 0xc2b2ae3d27d4eb4f
	n := len(k)
	b := unsafeBytes(k)
	x := uint64(n) * m2
	switch {
	case n > 16:
		i := 0
		for ; i+8 < n; i += 8 {
			x = (x ^ binary.LittleEndian.Uint64(b[i:])) * m1
			x ^= x >> 29
		}
		x ^= binary.LittleEndian.Uint64(b[n-8:])
	case n >= 8:
		x ^= binary.LittleEndian.Uint64(b)*m1 ^ binary.LittleEndian.Uint64(b[n-8:])
	case n >= 4:
		x ^= uint64(binary.LittleEndian.Uint32(b)) | uint64(binary.LittleEndian.Uint32(b[n-4:]))<<32
	case n > 0:
		x ^= uint64(b[0]) | uint64(b[n/2])<<8 | uint64(b[n-1])<<16
	}
	x *= m1
	x ^= x >> 32
	x *= m2
	return uint32(x >> 32)
}

func (d *Doc) keyOf(n int32) string {
	k := d.nodes[n].key
	return unsafeString(d.arena[k.off : k.off+k.n])
}

// rootSlot is one slot of the root index: the member's node (0 = empty,
// -1 = deleted) and its key's hash, so probing past other keys does not
// touch their nodes.
type rootSlot struct {
	h uint32
	n int32
}

func (d *Doc) rootLookup(key string, h uint32) Node {
	if len(d.rootIdx) == 0 { // slow (no index), or the root never had a member
		for c := d.nodes[1].first; c != Nil; c = d.nodes[c].next {
			if d.keyOf(int32(c)) == key {
				return c
			}
		}
		return Nil
	}
	mask := uint32(len(d.rootIdx) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		sl := d.rootIdx[i]
		if sl.n == 0 {
			return Nil
		}
		if sl.h == h && sl.n > 0 && d.keyOf(sl.n) == key {
			return Node(sl.n)
		}
	}
}

type rootMemo struct {
	key string
	h   uint32
	n   Node
	ok  bool
}

// rootFind is rootLookup through the one-entry memo.
func (d *Doc) rootFind(key string, h uint32) Node {
	if m := &d.memo; m.ok && m.h == h && m.key == key {
		return m.n
	}
	n := d.rootLookup(key, h)
	d.memo = rootMemo{key: key, h: h, n: n, ok: !d.slow}
	return n
}

func (d *Doc) rootInsert(c Node, h uint32) {
	d.memo.ok = false
	if (d.rootUsed+1)*2 > len(d.rootIdx) {
		if d.slow {
			return // no index: rootLookup walks the members
		}
		d.rootGrow()
	}
	d.rootPut(c, h)
	d.rootUsed++
}

func (d *Doc) rootPut(c Node, h uint32) {
	mask := uint32(len(d.rootIdx) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		if d.rootIdx[i].n <= 0 {
			d.rootIdx[i] = rootSlot{h: h, n: int32(c)}
			return
		}
	}
}

// rootGrow makes the index at least twice as large as its live members
// need, rehashing them from the old slots (which hold their hashes: the
// nodes do not).
func (d *Doc) rootGrow() {
	n := 64
	for n < (d.rootUsed+1)*4 {
		n *= 2
	}
	d.rootOld = append(d.rootOld[:0], d.rootIdx...)
	if cap(d.rootIdx) >= n {
		d.rootIdx = d.rootIdx[:n]
	} else {
		d.rootIdx = make([]rootSlot, n)
	}
	clear(d.rootIdx)
	d.rootUsed = 0
	for _, sl := range d.rootOld {
		if sl.n > 0 {
			d.rootPut(Node(sl.n), sl.h)
			d.rootUsed++
		}
	}
}

func (d *Doc) rootRemove(c Node) {
	d.memo.ok = false
	if len(d.rootIdx) == 0 {
		return
	}
	mask := uint32(len(d.rootIdx) - 1)
	for i := hashKey(d.keyOf(int32(c))) & mask; ; i = (i + 1) & mask {
		n := d.rootIdx[i].n
		if n == 0 {
			return
		}
		if n == int32(c) {
			d.rootIdx[i].n = -1
			return
		}
	}
}
