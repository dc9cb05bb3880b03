package backfill

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"github.com/schollz/progressbar/v3"
)

// Progress is a point-in-time view of a run, for the progress display.
type Progress struct {
	Elapsed time.Duration
	// Done and Failed count finished units (objects, or messages for
	// redrive); Total is how many are known so far, final once TotalFinal.
	Done, Failed, Total int64
	TotalFinal          bool
	// Records sent so far, and Bytes read from S3 (ObjectResult.Bytes).
	Records, Bytes int64
	// Size is the stored (compressed) size of the finished objects and
	// SizeTotal that of all known ones; both 0 when sizes are unknown.
	// With sizes, the ETA follows bytes rather than object counts.
	Size, SizeTotal int64
}

// Rates returns units, records and bytes read per second.
func (p Progress) Rates() (units, records, bytes float64) {
	s := p.Elapsed.Seconds()
	if s <= 0 {
		return 0, 0, 0
	}
	return float64(p.Done+p.Failed) / s, float64(p.Records) / s, float64(p.Bytes) / s
}

// ETA estimates the time left; ok is false while the total is still
// growing or nothing finished yet.
func (p Progress) ETA() (time.Duration, bool) {
	if !p.TotalFinal || p.Elapsed <= 0 {
		return 0, false
	}
	if p.SizeTotal > 0 && p.Size > 0 {
		left := float64(p.SizeTotal - p.Size)
		return time.Duration(left / float64(p.Size) * float64(p.Elapsed)).Round(time.Second), true
	}
	n := p.Done + p.Failed
	if n == 0 {
		return 0, false
	}
	return time.Duration(float64(p.Total-n) / float64(n) * float64(p.Elapsed)).Round(time.Second), true
}

// SyncWriter serialises writes of a progress bar and a logger that share a
// terminal, clearing the bar's line before each log line (the bar redraws
// on its next update).
type SyncWriter struct {
	mu  sync.Mutex
	w   io.Writer
	bar bool // a bar line may be on screen
}

// NewSyncWriter wraps w (a terminal).
func NewSyncWriter(w io.Writer) *SyncWriter { return &SyncWriter{w: w} }

// Write writes a log line, clearing a bar line first.
func (s *SyncWriter) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bar {
		io.WriteString(s.w, "\r\033[K")
		s.bar = false
	}
	return s.w.Write(b)
}

type barWriter struct{ s *SyncWriter }

func (b barWriter) Write(p []byte) (int, error) {
	b.s.mu.Lock()
	defer b.s.mu.Unlock()
	b.s.bar = true
	return b.s.w.Write(p)
}

// ReporterConfig configures a Reporter.
type ReporterConfig struct {
	// Terminal, when set, shows a progress bar on it instead of log lines.
	Terminal *SyncWriter
	// Every is the log-line interval (default 10s); the bar updates 4×/s.
	Every time.Duration
	// Unit names what Done counts ("objects", "messages").
	Unit string
}

// Reporter shows a run's progress: a bar on a terminal, periodic log
// lines otherwise.
type Reporter struct {
	cfg ReporterConfig
	log zerolog.Logger
}

// NewReporter builds a reporter; Run shows the progress.
func NewReporter(cfg ReporterConfig, log zerolog.Logger) *Reporter {
	if cfg.Every <= 0 {
		cfg.Every = 10 * time.Second
	}
	if cfg.Unit == "" {
		cfg.Unit = "objects"
	}
	return &Reporter{cfg: cfg, log: log}
}

// Run reports snap() until ctx ends, then once more.
func (r *Reporter) Run(ctx context.Context, snap func() Progress) {
	if r.cfg.Terminal != nil {
		r.runBar(ctx, snap)
		return
	}
	t := time.NewTicker(r.cfg.Every)
	defer t.Stop()
	var last Progress
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			p := snap()
			if p.Done == last.Done && p.Failed == last.Failed && p.Total == last.Total && p.Records == last.Records {
				continue
			}
			last = p
			r.logLine(p)
		}
	}
}

func (r *Reporter) logLine(p Progress) {
	units, recs, bytes := p.Rates()
	ev := r.log.Info().Int64(r.cfg.Unit+"_done", p.Done).Int64(r.cfg.Unit+"_failed", p.Failed).
		Int64(r.cfg.Unit+"_total", p.Total).Bool("total_final", p.TotalFinal).
		Int64("records", p.Records).Int64("bytes", p.Bytes).
		Str(r.cfg.Unit+"_per_s", fmt.Sprintf("%.1f", units)).Str("records_per_s", fmt.Sprintf("%.0f", recs)).
		Str("mib_per_s", fmt.Sprintf("%.1f", bytes/(1<<20))).Dur("elapsed", p.Elapsed.Round(time.Second))
	if eta, ok := p.ETA(); ok {
		ev = ev.Str("eta", eta.String())
	}
	ev.Msg("progress")
}

func (r *Reporter) runBar(ctx context.Context, snap func() Progress) {
	bar := progressbar.NewOptions64(-1,
		progressbar.OptionSetWriter(barWriter{r.cfg.Terminal}),
		progressbar.OptionSetWidth(30),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString(r.cfg.Unit),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionFullWidth(),
	)
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	max := int64(-1)
	update := func() {
		p := snap()
		if p.Total != max && p.Total > 0 {
			max = p.Total
			bar.ChangeMax64(max)
		}
		_, recs, _ := p.Rates()
		desc := fmt.Sprintf("%s records (%s/s)", human(float64(p.Records)), human(recs))
		if p.Failed > 0 {
			desc += fmt.Sprintf(", %d failed", p.Failed)
		}
		if !p.TotalFinal {
			desc += ", listing…"
		}
		bar.Describe(desc)
		bar.Set64(p.Done + p.Failed)
	}
	for {
		select {
		case <-ctx.Done():
			update()
			bar.Exit()
			io.WriteString(barWriter{r.cfg.Terminal}, "\n")
			return
		case <-t.C:
			update()
		}
	}
}

func human(v float64) string {
	switch {
	case v >= 1e9:
		return fmt.Sprintf("%.1fG", v/1e9)
	case v >= 1e6:
		return fmt.Sprintf("%.1fM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.1fk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}
