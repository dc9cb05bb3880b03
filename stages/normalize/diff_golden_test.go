package normalize_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/siemstream/siemstream/producer"
	"github.com/siemstream/siemstream/producer/split"
	"github.com/siemstream/siemstream/stages"
)

// Goldens of deliberate differences from es-loader (README "Differences
// from es-loader"): testdata/normalize-diff/<type>/<case>.{key,log|json}
// with <case>.esloader.jsonl made by esl_ref.py (--now
// 2025-03-14T12:00:00+00:00), run through the producer's real splitter and
// the stage chain like TestGoldenParitySplit. Instead of requiring
// equality, every difference (per _id: a field, an _index, a document only
// one side has) must be listed in <case>.diff, and every listed one must
// occur: the file is the exact, reviewed statement of how we differ. With
// -update both <case>.siemstream.jsonl and <case>.diff are rewritten for
// review.

const diffGoldenDir = "../../testdata/normalize-diff"

func TestGoldenDifferences(t *testing.T) {
	keys, _ := filepath.Glob(filepath.Join(diffGoldenDir, "*", "*.key"))
	if len(keys) == 0 {
		t.Fatal("no difference goldens")
	}
	for _, keyFile := range keys {
		base := strings.TrimSuffix(keyFile, ".key")
		name, _ := filepath.Rel(diffGoldenDir, base)
		t.Run(name, func(t *testing.T) { runDiffCase(t, base) })
	}
}

func runDiffCase(t *testing.T, base string) {
	reg := loadRegistry(t, filepath.Dir(base))
	key, lt, obj := readCase(t, reg, base)
	format, err := producer.FormatFor(lt)
	if err != nil {
		t.Fatal(err)
	}
	sp, err := split.New(bytes.NewReader(obj), format, split.Options{})
	if err != nil {
		t.Fatal(err)
	}
	src := &stages.Source{LogType: lt.Name, Bucket: bucket, Key: key}
	b := &stages.Batch{}
	var diffs []string
	for {
		rec, ord, err := sp.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		var re *split.RecordError
		if errors.As(err, &re) { // quarantined by the producer, the object goes on
			diffs = append(diffs, fmt.Sprintf("record %d: quarantined by the splitter: %v", re.Ordinal, re.Err))
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		b.Events = append(b.Events, stages.Event{Src: src, Ordinal: ord, Raw: append([]byte(nil), rec...)})
	}
	src.Context = sp.Context()
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
