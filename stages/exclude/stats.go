package exclude

import (
	"sync"
	"sync/atomic"
)

// Counts are es-loader's per-log-type exclusion metrics.
type Counts struct {
	// ExcludedLogCount: records dropped on purpose.
	ExcludedLogCount uint64
	// CountedLogCount: records that matched a COUNT condition (kept).
	CountedLogCount uint64
}

type counters struct {
	m sync.Map // log type → *counter
}

type counter struct {
	excluded, counted atomic.Uint64
	// COUNT log sampling window
	windowStart atomic.Int64
	logged      atomic.Int32
}

func (c *counters) get(logType string) *counter {
	if v, ok := c.m.Load(logType); ok {
		return v.(*counter)
	}
	v, _ := c.m.LoadOrStore(logType, &counter{})
	return v.(*counter)
}

func (c *counters) snapshot() map[string]Counts {
	out := map[string]Counts{}
	c.m.Range(func(k, v any) bool {
		x := v.(*counter)
		out[k.(string)] = Counts{ExcludedLogCount: x.excluded.Load(), CountedLogCount: x.counted.Load()}
		return true
	})
	return out
}

// batchCounter caches the counter of the last log type seen in a batch (a
// batch usually holds one log type).
type batchCounter struct {
	c       *counters
	logType string
	cur     *counter
}

func (b *batchCounter) of(logType string) *counter {
	if b.cur == nil || b.logType != logType {
		b.cur, b.logType = b.c.get(logType), logType
	}
	return b.cur
}
