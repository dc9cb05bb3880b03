package chain

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/siemstream/siemstream/schemas"
	"github.com/siemstream/siemstream/stages"
	"github.com/siemstream/siemstream/stages/exclude"
)

// TestChainAssembly: an optional stage that is off is not in the chain, and
// only the stages that load data are driven as reloaders (loaded once at
// start, reported in Stats).
func TestChainAssembly(t *testing.T) {
	deps := testDeps(t)
	csv := tempFile(t, "exclude_log_patterns.csv", "log_type,field,pattern,pattern_type,comment\ncloudtrail,eventName,Describe.*,regex,\n")
	for _, tc := range []struct {
		name    string
		cfg     Config
		cond    exclude.ParamLoader
		stages  []string
		reloads []string
	}{
		{"zero", Config{}, nil, []string{"decode", "normalize", "useragent", "encode"}, nil},
		{"own logs only", Config{OwnLogExclusion: true}, nil, []string{"decode", "exclude", "normalize", "useragent", "encode"}, nil},
		{"csv", Config{ExcludeCSV: csv}, nil, []string{"decode", "exclude", "normalize", "useragent", "encode"}, []string{"exclude_log_patterns"}},
		{"conditions", Config{}, countCondition, []string{"decode", "normalize", "useragent", "exclude_conditions", "encode"}, []string{"exclude_conditions"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			deps.Conditions = tc.cond
			p, err := New(context.Background(), tc.cfg, deps)
			if err != nil {
				t.Fatal(err)
			}
			chain, _ := p.Stages()
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

// countCondition is one SSM exclusion condition (COUNT, so nothing is
// dropped).
var countCondition = exclude.StaticParams{{Name: "cloudtrail/a", Value: `{"action":"COUNT","expression":"event.action == 'ConsoleLogin'"}`}}

// testDeps are the built-in log types and a logger that drops everything.
func testDeps(t *testing.T) Deps {
	t.Helper()
	reg, err := schemas.Load(schemas.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return Deps{Deps: stages.Deps{Registry: reg, Logger: slog.New(slog.DiscardHandler)}}
}

// tempFile writes a file of the test's own and returns its path.
func tempFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestNewRefuses: a configuration or source that cannot work fails New, not
// the first batch.
func TestNewRefuses(t *testing.T) {
	deps := testDeps(t)
	bad := tempFile(t, "GeoLite2-City.mmdb", "not an mmdb")
	for _, tc := range []struct {
		name string
		cfg  Config
		deps Deps
	}{
		{"no registry", Config{}, Deps{}},
		{"negative reload interval", Config{ReloadInterval: -time.Second}, deps},
		{"bad geoip source", Config{GeoIP: "s3://"}, deps},
		{"unreadable geoip database", Config{GeoIP: filepath.Dir(bad)}, deps},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(context.Background(), tc.cfg, tc.deps); err == nil {
				t.Fatal("no error")
			}
		})
	}
}

// TestCloseBeforeRun: Close wins even when Run had not started yet (the
// consumer defers Close and starts Run in a goroutine), so Run returns at
// once instead of following the sources until its context ends.
func TestCloseBeforeRun(t *testing.T) {
	deps := testDeps(t)
	deps.Conditions = countCondition
	p, err := New(context.Background(), Config{}, deps)
	if err != nil {
		t.Fatal(err)
	}
	p.Close()
	done := make(chan struct{})
	go func() { p.Run(context.Background()); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after Close")
	}
}
