package chain

import (
	"github.com/siemstream/siemstream/internal/reload"
	"github.com/siemstream/siemstream/stages/encode"
	"github.com/siemstream/siemstream/stages/exclude"
	"github.com/siemstream/siemstream/stages/normalize"
)

// Stats are the counters the stages keep, read when metrics are scraped.
type Stats struct {
	// Counted is es-loader's CountedLogCount per log type (COUNT
	// conditions that matched).
	Counted map[string]uint64
	// Reloads is the status of every reloadable data source.
	Reloads []reload.Status
	// Lookups are the enrichment stages' lookups and matches, by stage.
	Lookups []Lookups
	// Stages are the other stages' own counters (normalize: ok, failed,
	// transform_error; encode: ok, truncated).
	Stages []StageCount
}

// StageCount is one counter of one stage.
type StageCount struct {
	Stage, Outcome string
	N              uint64
}

// Lookups counts one enrichment stage's lookups.
type Lookups struct {
	Stage            string
	Lookups, Matches uint64
}

// Stats reads the stages' counters (cheap: atomics and one lock per
// reloadable stage).
func (a *Assembly) Stats() Stats {
	st := Stats{Counted: map[string]uint64{}}
	for _, s := range a.chain {
		switch s := s.(type) {
		case *normalize.Stage:
			n := s.Stats()
			st.Stages = append(st.Stages, StageCount{"normalize", "ok", n.Normalized}, StageCount{"normalize", "failed", n.Failed},
				StageCount{"normalize", "transform_error", n.TransformErrors})
		case *encode.Stage:
			n := s.Stats()
			st.Stages = append(st.Stages, StageCount{"encode", "ok", n.Encoded}, StageCount{"encode", "truncated", n.Truncated})
		}
	}
	for _, r := range a.reloaders {
		st.Reloads = append(st.Reloads, r.Status())
		if c, ok := r.(*exclude.Conditions); ok {
			for lt, n := range c.Stats() {
				st.Counted[lt] += n.CountedLogCount
			}
		}
		if l, ok := r.(interface{ Lookups() (uint64, uint64) }); ok {
			n, m := l.Lookups()
			st.Lookups = append(st.Lookups, Lookups{Stage: r.Name(), Lookups: n, Matches: m})
		}
	}
	return st
}
