package geoip

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"sync"
	"sync/atomic"
)

// cacheWays is the number of entries a bucket holds (an address can be in
// one of them).
const cacheWays = 4

// cacheShards is kept for the bound tests check: the cache never holds more
// than its size rounded up to a power of two.
const cacheShards = 64

// cache is a bounded address → result cache for the hot path: a
// set-associative table (the address's hash picks a bucket of four
// entries). A hit is a few atomic loads and no lock; a miss replaces an
// empty or a pseudo-random entry of the bucket, so the table never holds
// more than its size and frequently used addresses stay (a busy address is
// put back at once when evicted). Negative results (nil) are cached too.
// Entries are immutable once published.
//
// Each slot keeps its entry's hash next to the pointer, and a bucket's four
// slots fill one 64-byte cache line: a lookup reads that line and then only
// the entry whose hash matches, instead of following every slot's pointer
// (each a likely cache miss on the hot path). The hash only selects; the
// entry's address decides, so a slot read while it is being replaced gives
// a miss or the right entry, never a wrong one.
type cache struct {
	slots []cacheSlot
	shift uint // 64 - log2(buckets): the hash's top bits pick the bucket
}

type cacheSlot struct {
	tag atomic.Uint64 // the entry's hash | 1 (0: empty)
	e   atomic.Pointer[cacheEntry]
}

type cacheEntry struct {
	addr netip.Addr
	r    *Result
}

func newCache(size int) *cache {
	buckets, shift := 16, uint(60)
	for buckets*cacheWays < size {
		buckets *= 2
		shift--
	}
	return &cache{slots: make([]cacheSlot, buckets*cacheWays), shift: shift}
}

func hashAddr(a netip.Addr) uint64 {
	b := a.As16()
	h := binary.LittleEndian.Uint64(b[8:]) ^ binary.LittleEndian.Uint64(b[:8])*0xff51afd7ed558ccd
	return h * 0x9e3779b97f4a7c15 // top bits depend on every input bit
}

func (c *cache) bucket(h uint64) []cacheSlot {
	b := (h >> c.shift) * cacheWays
	return c.slots[b : b+cacheWays : b+cacheWays]
}

func (c *cache) get(a netip.Addr) (*Result, bool) {
	h := hashAddr(a)
	b, tag := c.bucket(h), h|1
	for i := range b {
		if b[i].tag.Load() == tag {
			if e := b[i].e.Load(); e != nil && e.addr == a {
				return e.r, true
			}
		}
	}
	return nil, false
}

func (c *cache) put(a netip.Addr, r *Result) {
	h := hashAddr(a)
	b, tag := c.bucket(h), h|1
	e := &cacheEntry{addr: a, r: r}
	for i := range b {
		if b[i].e.Load() == nil && b[i].e.CompareAndSwap(nil, e) {
			b[i].tag.Store(tag)
			return
		}
	}
	s := &b[rand.Uint32()%cacheWays]
	s.e.Store(e)
	s.tag.Store(tag)
}

func (c *cache) len() int {
	n := 0
	for i := range c.slots {
		if c.slots[i].e.Load() != nil {
			n++
		}
	}
	return n
}

// recCache maps a record's data-section offset to its decoded value. It
// stops growing at max entries (a database has far fewer distinct records
// than addresses; the address cache in front of it does the eviction). A
// nil recCache holds nothing.
type recCache[T any] struct {
	mu  sync.RWMutex
	m   map[uintptr]*T
	max int
}

func newRecCache[T any](max int) *recCache[T] {
	return &recCache[T]{m: map[uintptr]*T{}, max: max}
}

func (c *recCache[T]) get(off uintptr) (*T, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	v, ok := c.m[off]
	return v, ok
}

func (c *recCache[T]) put(off uintptr, v *T) {
	if c == nil {
		return
	}
	c.mu.Lock()
	if len(c.m) < c.max {
		c.m[off] = v
	}
	c.mu.Unlock()
}
