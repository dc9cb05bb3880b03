// Package stagetest holds the helpers the stages' tests share: building a
// batch from JSON documents, benchmarking a stage on one event, writing a data file with a fixed modification
// time (reloaded sources compare it), and comparing output with a golden
// file that -update rewrites.
package stagetest

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/siemstream/siemstream/internal/doc"
	"github.com/siemstream/siemstream/stages"
)

// Batch is a batch of one event per JSON object in docs, all of logType.
func Batch(t testing.TB, logType string, docs ...string) *stages.Batch {
	t.Helper()
	src := &stages.Source{LogType: logType}
	b := &stages.Batch{}
	for _, js := range docs {
		d := doc.New()
		if err := d.ParseObject([]byte(js)); err != nil {
			t.Fatal(err)
		}
		b.Events = append(b.Events, stages.Event{Src: src, Doc: d})
	}
	return b
}

// BenchProcess benchmarks st on a batch of one event, parsed anew from raw
// for each iteration (so a stage that writes into the document starts
// from the same input every time), reporting allocations.
func BenchProcess(b *testing.B, st stages.Stage, raw []byte) {
	src := &stages.Source{LogType: "t"}
	bt := &stages.Batch{Events: make([]stages.Event, 1)}
	d := doc.New()
	b.ReportAllocs()
	for b.Loop() {
		d.Reset()
		_ = d.ParseObject(raw)
		bt.Events[0] = stages.Event{Src: src, Doc: d}
		_ = st.Process(context.Background(), bt)
	}
}

// WriteFile writes data to path (creating its directory) with modification
// time mtime.
func WriteFile(t testing.TB, path string, data []byte, mtime time.Time) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
}

// CompareGolden compares got with the golden file at path, or rewrites the
// file when update is set (the test's -update flag).
func CompareGolden(t testing.TB, path string, got []byte, update bool) {
	t.Helper()
	if update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("%s differs (-update to rewrite):\n--- want\n%s--- got\n%s", path, want, got)
	}
}
