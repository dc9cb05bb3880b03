package normalize_test

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/siemstream/siemstream/producer/split"
)

// Goldens of deliberate differences from es-loader (README "Differences
// from es-loader"): testdata/normalize-diff/<type>/<case>, run through the
// same harness as the parity goldens (golden_test.go). Instead of requiring
// equality, every difference (per _id: a field, an _index, a document only
// one side has, a record the splitter quarantines or that fails here) must
// be listed in <case>.diff, and every listed one must occur: the file is
// the exact, reviewed statement of how we differ. With -update both
// <case>.siemstream.jsonl and <case>.diff are rewritten for review.

func TestGoldenDifferences(t *testing.T) {
	for _, name := range goldenCases(t, "normalize-diff") {
		t.Run(strings.TrimPrefix(name, "normalize-diff/"), func(t *testing.T) { runDiffCase(t, filepath.Join(testdataDir, name)) })
	}
}

func runDiffCase(t *testing.T, base string) {
	reg := loadRegistry(t, filepath.Dir(base))
	key, lt, obj := readCase(t, reg, base)
	var diffs []string
	b := splitObject(t, lt, key, obj, func(re *split.RecordError) { // quarantined by the producer, the object goes on
		diffs = append(diffs, fmt.Sprintf("record %d: quarantined by the splitter: %v", re.Ordinal, re.Err))
	})
	runChain(t, reg, b)
	ours, _, failed := ourDocs(t, b, base)
	for _, o := range failed {
		diffs = append(diffs, fmt.Sprintf("record %d: failed here", o))
	}
	seen := map[string]bool{}
	for _, x := range readExpected(t, base+".esloader.jsonl") {
		seen[x.ID] = true
		got, ok := ours[x.ID]
		if !ok {
			diffs = append(diffs, fmt.Sprintf("_id %s: only es-loader", x.ID))
			continue
		}
		if got.Index != x.Index {
			diffs = append(diffs, fmt.Sprintf("_id %s: _index %s, es-loader %s", x.ID, got.Index, x.Index))
		}
		for _, p := range diffSource(t, x.Doc, got.Source) {
			diffs = append(diffs, fmt.Sprintf("_id %s: %s", x.ID, p))
		}
	}
	for id := range ours {
		if !seen[id] {
			diffs = append(diffs, fmt.Sprintf("_id %s: only siemstream", id))
		}
	}
	sort.Strings(diffs)
	got := strings.Join(diffs, "\n") + "\n"
	if *update {
		if err := os.WriteFile(base+".diff", []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(base + ".diff")
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("differences from es-loader changed:\n got:\n%s\nwant (%s.diff):\n%s", got, base, want)
	}
}
