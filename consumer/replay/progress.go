package replay

import (
	"context"
	"time"

	"github.com/siemstream/siemstream/consumer/lease"
	"github.com/siemstream/siemstream/internal/obs"
)

// fraction is how far through the shard's range arrival time t is.
func fraction(e lease.ReplayEnd, t time.Time) float64 {
	if e.Empty {
		return 1
	}
	span := e.LastArrival.Sub(e.FirstArrival)
	if span <= 0 {
		if t.Before(e.LastArrival) {
			return 0
		}
		return 1
	}
	return min(1, max(0, float64(t.Sub(e.FirstArrival))/float64(span)))
}

func (s *shard) progress(records, bytes int64, first, reached time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.firstAt.IsZero() {
		s.firstAt, s.pct0 = time.Now(), fraction(s.end, first)
	}
	s.records += records
	s.bytes += bytes
	s.reached = reached
}

// ShardProgress is one shard as this process sees it.
type ShardProgress struct {
	ShardID string
	Done    bool
	Why     string // how it finished
	// Records and Bytes were loaded by this process; RecordsTotal and
	// BytesTotal are what it will have loaded at the end: exact once the
	// shard is finished, else extrapolated from the arrival time reached
	// (Exact false). Percent is the position in the shard's range.
	Records, Bytes           int64
	RecordsTotal, BytesTotal int64
	Exact                    bool
	Percent                  float64
	// ETA is the time left at this process's pace; 0 when finished, -1
	// when unknown (not loaded here, or no progress yet).
	ETA     time.Duration
	Reached time.Time
	End     lease.ReplayEnd
	Known   bool // End is fixed
}

func (s *shard) snapshot(now time.Time) ShardProgress {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := ShardProgress{ShardID: s.id, Done: s.done, Why: s.why, Records: s.records, Bytes: s.bytes,
		Reached: s.reached, End: s.end, ETA: -1}
	select {
	case <-s.known:
		p.Known = true
	default:
	}
	if s.done {
		p.RecordsTotal, p.BytesTotal, p.Exact, p.Percent, p.ETA = s.records, s.bytes, true, 100, 0
		return p
	}
	if !p.Known || s.records == 0 {
		return p
	}
	pct := fraction(s.end, s.reached)
	p.Percent = 100 * pct
	if gained := pct - s.pct0; gained > 0 {
		rest := (1 - pct) / gained
		p.RecordsTotal = s.records + int64(float64(s.records)*rest)
		p.BytesTotal = s.bytes + int64(float64(s.bytes)*rest)
		p.ETA = time.Duration(float64(now.Sub(s.firstAt)) * rest)
	}
	return p
}

// Counters are a replay's numbers, for progress lines, the summary and
// metrics: shards, what this process loaded, and the consumer's counts.
type Counters struct {
	Shards, ShardsDone int
	Records, Bytes     int64
	obs.Counts
	Elapsed time.Duration
	// ETA is the longest ETA of the unfinished shards loaded here: 0 when
	// every shard is finished, -1 when unknown.
	ETA    time.Duration
	Shard  []ShardProgress // in scope order
	Finish bool            // every shard in scope is finished
}

// Counters returns a snapshot.
func (r *Replay) Counters() Counters {
	now := time.Now()
	c := Counters{Shards: len(r.cfg.Scope), Counts: r.cfg.Counts.Total(), Elapsed: now.Sub(r.started)}
	unknown := false
	for _, id := range r.cfg.Scope {
		p := r.shards[id].snapshot(now)
		c.Shard = append(c.Shard, p)
		c.Records += p.Records
		c.Bytes += p.Bytes
		if p.Done {
			c.ShardsDone++
			continue
		}
		if p.ETA < 0 {
			unknown = true
		}
		c.ETA = max(c.ETA, p.ETA)
	}
	c.Finish = c.ShardsDone == c.Shards
	if unknown {
		c.ETA = -1
	}
	return c
}

// logProgress logs each shard loaded here (until it has been logged
// finished) and the totals.
func (r *Replay) logProgress(ctx context.Context) {
	if r.cfg.ProgressEvery < 0 {
		return
	}
	t := time.NewTicker(r.cfg.ProgressEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		r.reportProgress()
	}
}

// reportProgress logs each shard loaded here until it has been logged
// finished, then the totals. The ticker calls it, and LogSummary once more at
// the end, so a replay that finishes before the first tick still logs every
// shard's last line (100 %, ETA 0).
func (r *Replay) reportProgress() {
	c := r.Counters()
	for _, p := range c.Shard {
		s := r.shards[p.ShardID]
		s.mu.Lock()
		skip := p.Records == 0 || s.reported
		s.reported = p.Done
		s.mu.Unlock()
		if skip {
			continue
		}
		ev := r.log.Info().Str("shard", p.ShardID).Bool("done", p.Done).Int64("records", p.Records).Int64("bytes", p.Bytes).
			Float64("percent", float64(int(p.Percent*10))/10).Bool("exact", p.Exact)
		if p.RecordsTotal > 0 {
			ev = ev.Int64("records_total", p.RecordsTotal).Int64("bytes_total", p.BytesTotal)
		}
		if p.ETA >= 0 {
			ev = ev.Float64("eta_seconds", p.ETA.Round(time.Second).Seconds())
		}
		if !p.Reached.IsZero() {
			ev = ev.Time("reached", p.Reached)
		}
		ev.Msg("replay shard progress")
	}
	ev := r.log.Info().Int("shards_done", c.ShardsDone).Int("shards", c.Shards).Int64("records", c.Records).Int64("bytes", c.Bytes).
		Int64("events", c.Events).Int64("delivered", c.Delivered).Int64("excluded", c.Excluded).Int64("failed", c.Failed).
		Int64("rejected", c.Rejected).Int64("overwritten", c.Overwritten)
	if c.ETA >= 0 {
		ev = ev.Float64("eta_seconds", c.ETA.Round(time.Second).Seconds())
	}
	ev.Msg("replay progress")
}
