package ref

import "unsafe"

func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// HashKey is the hash the root index uses for a member name (FNV-1a).
func HashKey(k string) uint32 { return hashKey(k) }

func hashKey(k string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(k); i++ {
		h ^= uint32(k[i])
		h *= 16777619
	}
	return h
}

func (d *Doc) keyOf(n int32) string {
	k := d.nodes[n].key
	return unsafeString(d.arena[k.off : k.off+k.n])
}

func (d *Doc) rootLookup(key string, h uint32) Node {
	if len(d.rootIdx) == 0 {
		return Nil
	}
	mask := uint32(len(d.rootIdx) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		n := d.rootIdx[i]
		if n == 0 {
			return Nil
		}
		if n > 0 && d.nodes[n].h == h && d.keyOf(n) == key {
			return Node(n)
		}
	}
}

func (d *Doc) rootInsert(c Node) {
	if (d.rootUsed+1)*2 > len(d.rootIdx) {
		d.rootGrow()
	}
	d.rootPut(c)
	d.rootUsed++
}

func (d *Doc) rootPut(c Node) {
	mask := uint32(len(d.rootIdx) - 1)
	for i := d.nodes[c].h & mask; ; i = (i + 1) & mask {
		if d.rootIdx[i] <= 0 {
			d.rootIdx[i] = int32(c)
			return
		}
	}
}

func (d *Doc) rootGrow() {
	n := 64
	for n < (d.rootUsed+1)*4 {
		n *= 2
	}
	if cap(d.rootIdx) >= n {
		d.rootIdx = d.rootIdx[:n]
	} else {
		d.rootIdx = make([]int32, n)
	}
	clear(d.rootIdx)
	d.rootUsed = 0
	for c := d.nodes[1].first; c != Nil; c = d.nodes[c].next {
		d.rootPut(c)
		d.rootUsed++
	}
}

func (d *Doc) rootRemove(c Node) {
	if len(d.rootIdx) == 0 {
		return
	}
	mask := uint32(len(d.rootIdx) - 1)
	for i := d.nodes[c].h & mask; ; i = (i + 1) & mask {
		n := d.rootIdx[i]
		if n == 0 {
			return
		}
		if n == int32(c) {
			d.rootIdx[i] = -1
			return
		}
	}
}
