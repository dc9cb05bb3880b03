package normalize_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/siemstream/siemstream/schemas"
	"github.com/siemstream/siemstream/stages"
	"github.com/siemstream/siemstream/stages/normalize"
)

const unitINI = `
[t-daily]
s3_key = t-daily/
file_format = json
index_name = log-d
index_rotation = daily
index_tz = -04:30
timestamp_key = ts
doc_id = rid
doc_id_suffix = n.count

[t-yearly]
s3_key = t-yearly/
file_format = json
index_name = log-y
index_rotation = yearly
timestamp_key = ts

[t-auto]
s3_key = t-auto/
file_format = json
index_name = log-a
index_rotation = auto

[t-ingested]
s3_key = t-ingested/
file_format = json
index_name = log-i
index_time = event_ingested
index_rotation = weekly
timestamp_key = ts
`

func unitRegistry(t *testing.T) *schemas.Registry {
	p := filepath.Join(t.TempDir(), "user.ini")
	os.WriteFile(p, []byte(unitINI), 0o644)
	reg, err := schemas.Load(schemas.Options{UserINI: p})
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

func runUnit(t *testing.T, reg *schemas.Registry, lt string, raws ...string) []stages.Event {
	src := &stages.Source{LogType: lt, Bucket: "b", Key: lt + "/123456789012/x.json"}
	b := &stages.Batch{}
	for i, r := range raws {
		b.Events = append(b.Events, stages.Event{Src: src, Ordinal: int64(i + 1), Raw: []byte(r)})
	}
	if err := coreChain(t, reg).Process(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	return b.Events
}

func TestFailuresArePerRecord(t *testing.T) {
	reg := unitRegistry(t)
	ev := runUnit(t, reg, "t-daily",
		`{"ts":"2025-03-14T01:00:00Z","rid":"a1","n":{"count":3}}`,
		`{"rid":"a2"}`,
		`{"ts":"not a time","rid":"a3"}`,
		`{"ts":"2025-03-14T01:00:00Z"}`,
		`{"ts":"2025-03-14T01:00:00Z","rid":""}`,
		`{"ts":"2025-03-14T05:00:00Z","rid":77}`,
	)
	if ev[0].Status != stages.Keep || ev[0].ID != "a1_3" || ev[0].Index != "log-d-2025-03-13" {
		t.Errorf("record 1: %v %q %q", ev[0].Err, ev[0].ID, ev[0].Index)
	}
	for i, want := range []error{normalize.ErrTimestamp, normalize.ErrTimestamp, normalize.ErrDocID, normalize.ErrDocID} {
		if e := ev[i+1]; e.Status != stages.Failed || !errors.Is(e.Err, want) {
			t.Errorf("record %d: %v %v, want %v", i+2, e.Status, e.Err, want)
		}
	}
	if e := ev[5]; e.Status != stages.Keep || e.ID != "77" || e.Index != "log-d-2025-03-14" {
		t.Errorf("record 6: %v %q %q", e.Err, e.ID, e.Index)
	}
}

func TestIndexNames(t *testing.T) {
	reg := unitRegistry(t)
	if e := runUnit(t, reg, "t-yearly", `{"ts":"2024-12-31T23:59:59+00:00"}`)[0]; e.Index != "log-y-2024" {
		t.Errorf("yearly: %q %v", e.Index, e.Err)
	}
	if e := runUnit(t, reg, "t-auto", `{"a":1}`)[0]; e.Index != "log-a" {
		t.Errorf("auto: %q %v", e.Index, e.Err)
	}
	// index_time = event_ingested: dated from "now" (2025-03-14, %W = 10)
	if e := runUnit(t, reg, "t-ingested", `{"ts":"2020-01-01T00:00:00Z"}`)[0]; e.Index != "log-i-2025-w10" {
		t.Errorf("ingested: %q %v", e.Index, e.Err)
	}
	// no timestamp key and no @timestamp: now
	e := runUnit(t, reg, "t-auto", `{"a":1}`)[0]
	if got := gjson.GetBytes(e.Out, "@timestamp").String(); got != "2025-03-14T12:00:00+00:00" {
		t.Errorf("@timestamp = %s", got)
	}
}
