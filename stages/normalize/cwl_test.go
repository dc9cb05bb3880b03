package normalize_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/siemstream/siemstream/producer"
	"github.com/siemstream/siemstream/producer/split"
	"github.com/siemstream/siemstream/schemas"
	"github.com/siemstream/siemstream/stages"
)

const viaINI = `
[v-cwl-text]
s3_key = v-cwl-text/
via_cwl = True
file_format = text
index_name = log-cwl-text
log_pattern = ^(?P<word>[a-z]+) (?P<num>[0-9]+)

[v-cwl-json]
s3_key = v-cwl-json/
via_cwl = True
file_format = json
index_name = log-cwl-json
timestamp_key = ts
timestamp_format = iso8601

[v-cwl-epoch]
s3_key = v-cwl-epoch/
via_cwl = True
file_format = text
index_name = log-cwl-epoch
log_pattern = ^(?P<word>[a-z]+)
timestamp_key = cwl_timestamp
timestamp_format = epoch

[v-fl]
s3_key = v-fl/
via_firelens = True
file_format = json
index_name = log-fl
timestamp_key = ts
timestamp_format = iso8601
`

func viaRegistry(t *testing.T) *schemas.Registry {
	t.Helper()
	p := filepath.Join(t.TempDir(), "user.ini")
	if err := os.WriteFile(p, []byte(viaINI), 0o644); err != nil {
		t.Fatal(err)
	}
	reg, err := schemas.Load(schemas.Options{UserINI: p})
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

func cwlRecord(id, ts, msg string) string {
	return string(split.AppendCWLRecord(nil, split.CWLMeta{
		Owner: "210987654321", LogGroup: "/grp", LogStream: "stream-1", ID: id, Timestamp: json.Number(ts),
	}, []byte(msg)))
}

func md5s(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

func outFields(t *testing.T, e stages.Event) map[string]any {
	t.Helper()
	if e.Status != stages.Keep {
		t.Fatalf("record %d: %v %v", e.Ordinal, e.Status, e.Err)
	}
	var m map[string]any
	if err := json.Unmarshal(e.Out, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func field(m map[string]any, path string) any {
	var v any = m
	for _, k := range strings.Split(path, ".") {
		o, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = o[k]
	}
	return v
}

// es-loader's via_cwl behaviour: @message is the CloudWatch Logs message
// verbatim, _id is md5(@message + event id) (skip-normalisation records:
// md5(@message + s3 key + event id)), the owner is cloud.account.id, the
// group and stream are @log_group/@log_stream, and cwl_timestamp is a
// timestamp key and the last fallback.
func TestViaCWL(t *testing.T) {
	reg := viaRegistry(t)
	t.Run("text", func(t *testing.T) {
		// es-loader matches log_pattern against the message as is (no
		// strip, unlike lines of a file): leading spaces miss ^(?P<word>…)
		// and the record is dropped (checked with esl_ref.py).
		if ev := runUnit(t, reg, "v-cwl-text", cwlRecord("3711", "1741950301500", "  hello 41")); ev[0].Status != stages.Failed {
			t.Errorf("message with leading spaces: %v, want Failed (es-loader: regex error)", ev[0].Status)
		}
		msg := "hello 42 trailing  "
		ev := runUnit(t, reg, "v-cwl-text", cwlRecord("3712", "1741950301500", msg))
		m := outFields(t, ev[0])
		for path, want := range map[string]any{
			"@message":         msg,
			"@log_group":       "/grp",
			"@log_stream":      "stream-1",
			"cloud.account.id": "210987654321",
			"word":             "hello",
			"@timestamp":       "2025-03-14T11:05:01.500000+00:00", // no timestamp key: cwl_timestamp fallback
		} {
			if got := field(m, path); got != want {
				t.Errorf("%s = %v, want %v", path, got, want)
			}
		}
		if want := md5s(msg + "3712"); ev[0].ID != want {
			t.Errorf("_id %s, want md5(message+id) %s", ev[0].ID, want)
		}
		if _, ok := m["cwl_timestamp"]; ok {
			t.Error("cwl_timestamp added although it is not a timestamp key")
		}
	})
	t.Run("epoch key", func(t *testing.T) {
		ev := runUnit(t, reg, "v-cwl-epoch", cwlRecord("1", "1741950302000", "abc"))
		m := outFields(t, ev[0])
		if got := field(m, "@timestamp"); got != "2025-03-14T11:05:02+00:00" {
			t.Errorf("@timestamp %v", got)
		}
		if got, ok := field(m, "cwl_timestamp").(float64); !ok || got != 1741950302000 {
			t.Errorf("cwl_timestamp %v (%T), want the epoch ms number", field(m, "cwl_timestamp"), field(m, "cwl_timestamp"))
		}
	})
	t.Run("json verbatim and invalid", func(t *testing.T) {
		good := `{"ts":"2025-03-14T11:05:03Z","a":1}`
		bad := `{"ts":"2025-03-14T11:05:03Z","a":` // truncated by the sender
		ev := runUnit(t, reg, "v-cwl-json", cwlRecord("7", "1741950301000", good), cwlRecord("8", "1741950304000", bad))
		m := outFields(t, ev[0])
		if got := field(m, "@message"); got != good {
			t.Errorf("@message %q, want the message verbatim", got)
		}
		m = outFields(t, ev[1])
		if got := field(m, "@message"); got != bad {
			t.Errorf("invalid json @message %q", got)
		}
		if want := md5s(bad + ev[1].Src.Key + "8"); ev[1].ID != want {
			t.Errorf("skip-normalisation _id %s, want md5(message+key+id) %s", ev[1].ID, want)
		}
		if got := field(m, "@timestamp"); got != "2025-03-14T11:05:04+00:00" {
			t.Errorf("invalid json @timestamp %v, want the cwl_timestamp fallback", got)
		}
		if field(m, "error.message") == nil {
			t.Error("invalid json without error.message")
		}
	})
}

func firelensRecord(arn *string, name, source, log string) string {
	id := "c0ffee"
	return string(split.AppendFirelensRecord(nil, split.FirelensMeta{
		ContainerID: &id, ContainerName: &name, Source: &source, ECSTaskARN: arn,
	}, []byte(log)))
}

func TestViaFirelens(t *testing.T) {
	reg := viaRegistry(t)
	arn := "arn:aws:ecs:eu-west-3:210987654321:task/c/0123"
	log := `{"ts":"2025-03-14T11:05:01Z","k":"v"}`
	ev := runUnit(t, reg, "v-fl",
		firelensRecord(&arn, "web", "stdout", log),
		firelensRecord(&arn, "web", "stderr", "panic: boom"),
		firelensRecord(nil, "web", "stdout", log),
	)
	m := outFields(t, ev[0])
	for path, want := range map[string]any{
		"@message": log, "cloud.account.id": "210987654321", "cloud.region": "eu-west-3",
		"container.id": "c0ffee", "container.name": "web", "container_source": "stdout",
	} {
		if got := field(m, path); got != want {
			t.Errorf("%s = %v, want %v", path, got, want)
		}
	}
	if want := md5s(log + "web"); ev[0].ID != want {
		t.Errorf("_id %s, want md5(log+container_name) %s", ev[0].ID, want)
	}
	if ev[1].Status != stages.Dropped {
		t.Errorf("stderr record: %v %v, want dropped (ignore_container_stderr)", ev[1].Status, ev[1].Err)
	}
	if ev[2].Status != stages.Failed {
		t.Errorf("record without ecs_task_arn: %v, want failed (es-loader raises)", ev[2].Status)
	}
}

// EventBridge envelopes around a json_delimiter array: the splitter looks
// the array up in detail and keeps the envelope, so cwe_timestamp and the
// envelope's account/region/id reach normalize.
func TestEnvelopeDelimiterSplit(t *testing.T) {
	reg, err := schemas.Load(schemas.Options{})
	if err != nil {
		t.Fatal(err)
	}
	lt := reg.Lookup("securityhub")
	format, err := producer.FormatFor(lt)
	if err != nil {
		t.Fatal(err)
	}
	env := func(id, detail string) string {
		return `{"version":"0","id":"` + id + `","detail-type":"Security Hub Findings - Imported","source":"aws.securityhub",` +
			`"account":"210987654321","time":"2025-03-14T11:10:05Z","region":"eu-west-3","resources":[],"detail":` + detail + `}`
	}
	for _, c := range []struct {
		name    string
		in      string
		records int
		recErrs int
	}{
		{"two envelopes", env("e1", `{"findings":[{"Id":"a"},{"Id":"b"}]}`) + "\n" + env("e2", `{"findings":[{"Id":"c"}]}`), 3, 0},
		{"plain object", `{"findings":[{"Id":"a","UpdatedAt":"2025-03-14T11:00:00Z"}]}`, 1, 0},
		{"envelope without the array", env("e1", `{"other":[]}`), 0, 1},
		{"detail before detail-type", `{"detail":{"findings":[{"Id":"a"}]},"detail-type":"x","resources":[]}`, 0, 1},
		{"top-level array after the detail is ignored", strings.TrimSuffix(env("e1", `{"findings":[{"Id":"a"}]}`), "}") + `,"findings":[{"Id":"z"}]}`, 1, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			sp, err := split.New(strings.NewReader(c.in), format, split.Options{})
			if err != nil {
				t.Fatal(err)
			}
			var recs [][]byte
			recErrs := 0
			for {
				rec, _, err := sp.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				var re *split.RecordError
				if errors.As(err, &re) {
					recErrs++
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
				recs = append(recs, bytes.Clone(rec))
			}
			if len(recs) != c.records || recErrs != c.recErrs {
				t.Fatalf("%d records, %d record errors; want %d, %d", len(recs), recErrs, c.records, c.recErrs)
			}
			if c.records == 0 {
				return
			}
			src := &stages.Source{LogType: lt.Name, Bucket: "b", Key: "AWSLogs/123456789012/SecurityHub/us-east-1/x.json"}
			b := &stages.Batch{}
			for i, r := range recs {
				b.Events = append(b.Events, stages.Event{Src: src, Ordinal: int64(i + 1), Raw: r})
			}
			if err := coreChain(t, reg).Process(context.Background(), b); err != nil {
				t.Fatal(err)
			}
			for _, e := range b.Events {
				if e.Status != stages.Keep {
					t.Fatalf("record %d: %v %v", e.Ordinal, e.Status, e.Err)
				}
				m := outFields(t, e)
				msg, _ := m["@message"].(string)
				if strings.Contains(msg, "detail-type") {
					t.Errorf("@message holds the envelope: %s", msg)
				}
				if c.name == "two envelopes" && field(m, "@timestamp") != "2025-03-14T11:10:05+00:00" {
					t.Errorf("@timestamp %v, want the envelope time (cwe_timestamp)", field(m, "@timestamp"))
				}
			}
		})
	}
}
