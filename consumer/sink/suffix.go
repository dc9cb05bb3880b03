package sink

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
)

// Suffix is a Sink that writes every document to its index name plus a
// fixed suffix ("log-aws-vpcflowlogs-2025-03" → "log-aws-vpcflowlogs-2025-03-replay1"),
// so a replay can load into indices of its own next to the live ones. IDs,
// bodies and per-document results are those of the wrapped Sink.
type Suffix struct {
	next   Sink
	suffix string
	names  sync.Map // index → index+suffix
	pool   sync.Pool
}

// NewSuffix wraps next. The suffix must be a valid tail of an index name
// (lower case; none of \ / * ? " < > | , # : or space).
func NewSuffix(next Sink, suffix string) (*Suffix, error) {
	if next == nil {
		return nil, errors.New("suffix sink: no sink to wrap")
	}
	if err := ValidateIndexSuffix(suffix); err != nil {
		return nil, err
	}
	return &Suffix{next: next, suffix: suffix}, nil
}

// ValidateIndexSuffix checks what OpenSearch accepts at the end of an index
// name; the empty suffix is valid (no change).
func ValidateIndexSuffix(s string) error {
	if s != strings.ToLower(s) {
		return fmt.Errorf("index suffix %q: must be lower case", s)
	}
	if i := strings.IndexAny(s, "\\/*?\"<>|,#: "); i >= 0 {
		return fmt.Errorf("index suffix %q: %q is not allowed in index names", s, s[i])
	}
	if len(s) > 100 {
		return fmt.Errorf("index suffix %q: longer than 100 bytes", s)
	}
	return nil
}

// Write implements Sink.
func (s *Suffix) Write(ctx context.Context, docs []Doc, results []Result) error {
	if s.suffix == "" {
		return s.next.Write(ctx, docs, results)
	}
	bp, _ := s.pool.Get().(*[]Doc)
	if bp == nil {
		bp = new([]Doc)
	}
	out := (*bp)[:0]
	for _, d := range docs {
		d.Index = s.name(d.Index)
		out = append(out, d)
	}
	err := s.next.Write(ctx, out, results)
	clear(out) // drop body references before pooling
	*bp = out[:0]
	s.pool.Put(bp)
	return err
}

// Health implements Sink: the wrapped sink's.
func (s *Suffix) Health(ctx context.Context) error { return s.next.Health(ctx) }

// Close implements Sink: closes the wrapped sink.
func (s *Suffix) Close() error { return s.next.Close() }

func (s *Suffix) name(index string) string {
	if v, ok := s.names.Load(index); ok {
		return v.(string)
	}
	n := index + s.suffix
	s.names.Store(index, n)
	return n
}
