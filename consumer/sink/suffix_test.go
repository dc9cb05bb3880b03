package sink

import (
	"context"
	"testing"
)

type recordingSink struct{ got []Doc }

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
