package pipeline

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/rs/zerolog"

	"github.com/siemstream/siemstream/schemas"
	"github.com/siemstream/siemstream/stages/exclude"
)

// TestChainAssembly: an optional stage that is off is not in the chain, and
// only the stages that load data are driven as reloaders (loaded once at
// start, reported in Stats).
func TestChainAssembly(t *testing.T) {
	reg, err := schemas.Load(schemas.Options{})
	if err != nil {
		t.Fatal(err)
	}
	csv := filepath.Join(t.TempDir(), "exclude_log_patterns.csv")
	if err := os.WriteFile(csv, []byte("log_type,field,pattern,pattern_type,comment\ncloudtrail,eventName,Describe.*,regex,\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	params := exclude.StaticParams{{Name: "cloudtrail/a", Value: `{"action":"COUNT","expression":"event.action == 'ConsoleLogin'"}`}}
	for _, tc := range []struct {
		name    string
		o       Options
		stages  []string
		reloads []string
	}{
		{"zero", Options{}, []string{"decode", "normalize", "useragent", "encode"}, nil},
		{"own logs only", Options{OwnLogExclusion: true}, []string{"decode", "exclude", "normalize", "useragent", "encode"}, nil},
		{"csv", Options{ExcludeCSV: csv}, []string{"decode", "exclude", "normalize", "useragent", "encode"}, []string{"exclude_log_patterns"}},
		{"conditions", Options{Conditions: params}, []string{"decode", "normalize", "useragent", "exclude_conditions", "encode"}, []string{"exclude_conditions"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.o.Log = zerolog.Nop()
			p, err := NewContext(context.Background(), reg, tc.o)
			if err != nil {
				t.Fatal(err)
			}
			chain, _ := p.Chain()
			var names []string
			for _, s := range chain {
				names = append(names, s.Name())
			}
			if !slices.Equal(names, tc.stages) {
				t.Errorf("chain %v, want %v", names, tc.stages)
			}
			var reloads []string
			for _, r := range p.Stats().Reloads {
				reloads = append(reloads, r.Name)
				if r.Loads != 1 {
					t.Errorf("%s: %d loads at start, want 1", r.Name, r.Loads)
				}
			}
			if !slices.Equal(reloads, tc.reloads) {
				t.Errorf("reloads %v, want %v", reloads, tc.reloads)
			}
		})
	}
}
