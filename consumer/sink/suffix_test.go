package sink

import (
	"context"
	"errors"
	"testing"
	"time"
)

type recordingSink struct {
	got         []Doc
	health      error
	healthCalls int
	closed      int
}

func (r *recordingSink) Health(context.Context) error { r.healthCalls++; return r.health }
func (r *recordingSink) Close() error                 { r.closed++; return nil }

func (r *recordingSink) Write(_ context.Context, docs []Doc, results []Result) error {
	r.got = append(r.got, docs...)
	for i := range results {
		results[i] = Result{Outcome: Delivered, Overwrote: i%2 == 1}
	}
	return nil
}

func TestSuffix(t *testing.T) {
	tests := []struct {
		name, suffix string
		in, want     []string
	}{
		{"appends", "-replay", []string{"log-aws-vpcflowlogs-2025-03", "siemstream-deadletter-2025.03"},
			[]string{"log-aws-vpcflowlogs-2025-03-replay", "siemstream-deadletter-2025.03-replay"}},
		{"empty is identity", "", []string{"log-a"}, []string{"log-a"}},
		{"same index twice", "-r1", []string{"log-a", "log-a"}, []string{"log-a-r1", "log-a-r1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recordingSink{}
			s, err := NewSuffix(rec, tc.suffix)
			if err != nil {
				t.Fatal(err)
			}
			docs := make([]Doc, len(tc.in))
			for i, ix := range tc.in {
				docs[i] = Doc{Index: ix, ID: "id", Body: []byte(`{}`)}
			}
			res := make([]Result, len(docs))
			if err := s.Write(context.Background(), docs, res); err != nil {
				t.Fatal(err)
			}
			for i := range tc.want {
				if rec.got[i].Index != tc.want[i] {
					t.Errorf("doc %d index %q, want %q", i, rec.got[i].Index, tc.want[i])
				}
				if docs[i].Index != tc.in[i] {
					t.Errorf("caller's doc %d changed to %q", i, docs[i].Index)
				}
				if res[i].Outcome != Delivered || res[i].Overwrote != (i%2 == 1) {
					t.Errorf("result %d not passed through: %+v", i, res[i])
				}
			}
		})
	}
}

func TestValidateIndexSuffix(t *testing.T) {
	for _, tc := range []struct {
		s  string
		ok bool
	}{
		{"", true}, {"-replay", true}, {"-replay-2025.03.14", true}, {"_r", true},
		{"-Replay", false}, {"-a b", false}, {"-a*", false}, {"-a,b", false}, {"-a:b", false}, {"/x", false},
	} {
		if err := ValidateIndexSuffix(tc.s); (err == nil) != tc.ok {
			t.Errorf("ValidateIndexSuffix(%q) = %v, want ok=%v", tc.s, err, tc.ok)
		}
	}
	if _, err := NewSuffix(nil, "-x"); err == nil {
		t.Error("NewSuffix(nil) accepted")
	}
}

// TestSuffixForwardsLifecycle: the wrapper adds nothing to Health and
// Close; it asks and closes the sink it wraps.
func TestSuffixForwardsLifecycle(t *testing.T) {
	want := errors.New("cluster down")
	rec := &recordingSink{health: want}
	s, err := NewSuffix(rec, "-r")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Health(context.Background()); !errors.Is(err, want) || rec.healthCalls != 1 {
		t.Fatalf("Health = %v after %d calls, want %v after 1", err, rec.healthCalls, want)
	}
	if err := s.Close(); err != nil || rec.closed != 1 {
		t.Fatalf("Close = %v, wrapped closed %d times, want nil and 1", err, rec.closed)
	}
}

// TestOpenSearchHealthUnreachable: Health reports a cluster that does not
// answer (nothing listens on port 1) instead of claiming ready.
func TestOpenSearchHealthUnreachable(t *testing.T) {
	cfg := DefaultOpenSearchConfig()
	cfg.URLs = []string{"http://127.0.0.1:1"}
	o, err := NewOpenSearch(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := o.Health(ctx); err == nil {
		t.Fatal("Health = nil for a cluster that does not answer")
	}
}
