package deadletter

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestRecordRoundTrip: every byte of raw and context comes back exactly,
// whatever it is, with no truncation.
func TestRecordRoundTrip(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 2<<20/16) // 2 MiB
	bigBad := append(bytes.Clone(big), 0xff, 0xfe)
	raws := map[string][]byte{
		"empty": {}, "text": []byte(`{"a":"é\u2028<>&"}`), "nul and controls": []byte("a\x00b\x1b\r\n"),
		"invalid utf8": {0xc3, 0x28, 'x', 0xff}, "2 MiB": big, "2 MiB invalid": bigBad,
		"lone surrogate": []byte("\xed\xa0\x80"),
	}
	for name, raw := range raws {
		t.Run(name, func(t *testing.T) {
			in := Record{Time: time.Date(2025, 3, 14, 1, 2, 3, 4, time.UTC), Stage: "decode", Reason: "bad \x00 reason",
				LogType: "cloudtrail", Bucket: "b", Key: "k/é.gz", Ordinal: 7, Shard: "shardId-000", Sequence: "123", SubSequence: 4,
				Raw: raw, Context: []byte("version\xff header")}
			b, err := in.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			if !json.Valid(b) || bytes.IndexByte(b, '\n') >= 0 {
				t.Fatalf("not one JSON line: %.200s", b)
			}
			var out Record
			if err := json.Unmarshal(b, &out); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out.Raw, raw) || out.Raw == nil || !bytes.Equal(out.Context, in.Context) {
				t.Fatalf("raw/context changed: %q", out.Raw[:min(len(out.Raw), 40)])
			}
			if err := out.Verify(out.Raw); err != nil {
				t.Fatal(err)
			}
			in.RawSize, in.RawSHA256 = out.RawSize, out.RawSHA256
			if out.Time != in.Time || out.Reason != in.Reason || out.Key != in.Key || out.SubSequence != 4 || out.Shard != in.Shard || out.DocID() != in.DocID() {
				t.Fatalf("fields changed: %+v", out)
			}
		})
	}
}

func TestLegacyTruncated(t *testing.T) {
	var r Record
	err := json.Unmarshal([]byte(`{"@timestamp":"2025-01-01T00:00:00Z","stage":"decode","raw":"abc","raw_bytes":99999,"raw_truncated":true}`), &r)
	if err != ErrTruncated || string(r.Raw) != "abc" {
		t.Fatalf("%v %q", err, r.Raw)
	}
	if err := r.Verify(r.Raw); err == nil || !strings.Contains(err.Error(), "99999") {
		t.Fatalf("verify: %v", err)
	}
}

func TestParseSince(t *testing.T) {
	now := time.Date(2025, 3, 14, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"2025-03-01T00:00:00Z": time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC), "2025-03-02": time.Date(2025, 3, 2, 0, 0, 0, 0, time.UTC),
		"7d": now.Add(-7 * 24 * time.Hour), "90m": now.Add(-90 * time.Minute),
	} {
		got, err := ParseSince(in, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("%s: %v %v", in, got, err)
		}
	}
	if _, err := ParseSince("yesterday", now); err == nil {
		t.Error("yesterday accepted")
	}
}
