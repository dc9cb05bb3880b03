package geoip

import (
	"encoding/binary"
	"net/netip"
	"sync"
)

const cacheShards = 64

// cache is a bounded address → result cache for the hot path: 64 shards,
// each a two-generation map (a lookup that hits the old generation promotes
// the entry; when the young generation is full it becomes the old one and the
// previous old one is dropped). That is O(1), allocation-light, and keeps the
// recently used addresses, with at most size entries in all. Negative results
// (nil) are cached too.
type cache struct {
	shards [cacheShards]cacheShard
}

type cacheShard struct {
	mu       sync.Mutex
	young    map[netip.Addr]*Result
	old      map[netip.Addr]*Result
	genLimit int
	_        [40]byte // keep shards on separate cache lines
}

func newCache(size int) *cache {
	per := size / (2 * cacheShards)
	if per < 8 {
		per = 8
	}
	c := &cache{}
	for i := range c.shards {
		c.shards[i].genLimit = per
		c.shards[i].young = make(map[netip.Addr]*Result, per)
	}
	return c
}

func shardOf(a netip.Addr) int {
	b := a.As16()
	h := binary.LittleEndian.Uint64(b[8:]) ^ binary.LittleEndian.Uint64(b[:8])*0xff51afd7ed558ccd
	h *= 0x9e3779b97f4a7c15
	return int(h >> 58) // 64 shards
}

func (c *cache) get(a netip.Addr) (*Result, bool) {
	s := &c.shards[shardOf(a)]
	s.mu.Lock()
	r, ok := s.young[a]
	if !ok && s.old != nil {
		if r, ok = s.old[a]; ok {
			s.insertLocked(a, r)
		}
	}
	s.mu.Unlock()
	return r, ok
}

func (c *cache) put(a netip.Addr, r *Result) {
	s := &c.shards[shardOf(a)]
	s.mu.Lock()
	s.insertLocked(a, r)
	s.mu.Unlock()
}

func (s *cacheShard) insertLocked(a netip.Addr, r *Result) {
	if len(s.young) >= s.genLimit {
		s.old = s.young
		s.young = make(map[netip.Addr]*Result, s.genLimit)
	}
	s.young[a] = r
}

func (c *cache) len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		n += len(s.young) + len(s.old)
		s.mu.Unlock()
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
