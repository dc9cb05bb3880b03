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
// entries). A hit is four atomic loads and no lock; a miss replaces an
// empty or a pseudo-random entry of the bucket, so the table never holds
// more than its size and frequently used addresses stay (a busy address is
// put back at once when evicted). Negative results (nil) are cached too.
// Entries are immutable once published.
type cache struct {
	slots []atomic.Pointer[cacheEntry]
	shift uint // 64 - log2(buckets): the hash's top bits pick the bucket
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
	return &cache{slots: make([]atomic.Pointer[cacheEntry], buckets*cacheWays), shift: shift}
}

func hashAddr(a netip.Addr) uint64 {
	b := a.As16()
	h := binary.LittleEndian.Uint64(b[8:]) ^ binary.LittleEndian.Uint64(b[:8])*0xff51afd7ed558ccd
	return h * 0x9e3779b97f4a7c15 // top bits depend on every input bit
}

func (c *cache) bucket(h uint64) []atomic.Pointer[cacheEntry] {
	b := (h >> c.shift) * cacheWays
	return c.slots[b : b+cacheWays : b+cacheWays]
}

func (c *cache) get(a netip.Addr) (*Result, bool) {
	b := c.bucket(hashAddr(a))
	for i := range b {
		if e := b[i].Load(); e != nil && e.addr == a {
			return e.r, true
		}
	}
	return nil, false
}

func (c *cache) put(a netip.Addr, r *Result) {
	b := c.bucket(hashAddr(a))
	e := &cacheEntry{addr: a, r: r}
	for i := range b {
		if b[i].Load() == nil && b[i].CompareAndSwap(nil, e) {
			return
		}
	}
	b[rand.Uint32()%cacheWays].Store(e)
}

func (c *cache) len() int {
	n := 0
	for i := range c.slots {
		if c.slots[i].Load() != nil {
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
