package gen

import (
	"bufio"
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2025, 3, 14, 12, 0, 0, 0, time.UTC)

func object(t *testing.T, logType string, seed uint64, n int) (string, []byte) {
	t.Helper()
	g, err := New(logType, seed)
	if err != nil {
		t.Fatal(err)
	}
	if g.Name() != logType {
		t.Fatalf("Name() = %q, want %q", g.Name(), logType)
	}
	var b bytes.Buffer
	key := g.Key(t0, 1)
	if err := g.Write(&b, n, t0); err != nil {
		t.Fatal(err)
	}
	return key, b.Bytes()
}

// TestDeterministic: same seed, same key and bytes; another seed, other bytes.
func TestDeterministic(t *testing.T) {
	for _, lt := range Types() {
		t.Run(lt, func(t *testing.T) {
			k1, b1 := object(t, lt, 42, 200)
			k2, b2 := object(t, lt, 42, 200)
			if k1 != k2 || !bytes.Equal(b1, b2) {
				t.Fatal("same seed gave different output")
			}
			_, b3 := object(t, lt, 43, 200)
			if bytes.Equal(b1, b3) {
				t.Fatal("different seeds gave the same output")
			}
		})
	}
}

// TestShape checks each format's framing: JSON lines parse, CloudFront rows
// have 33 tab-separated fields after a two-line header, CloudTrail is one
// JSON document with n records.
func TestShape(t *testing.T) {
	const n = 300
	for _, c := range []struct {
		logType, keyPart string
		check            func(t *testing.T, b []byte)
	}{
		{"vpcflowlogs", "_vpcflowlogs_", func(t *testing.T, b []byte) { lines(t, b, n+1) }},
		{"alb", "_elasticloadbalancing_", func(t *testing.T, b []byte) { lines(t, b, n) }},
		{"cloudfront", "cloudfront/E2ABCDEFGHIJK1.", func(t *testing.T, b []byte) {
			ls := lines(t, b, n+2)
			if !strings.HasPrefix(ls[0], "#Version:") || !strings.HasPrefix(ls[1], "#Fields:") {
				t.Fatalf("header: %q %q", ls[0], ls[1])
			}
			for _, l := range ls[2:] {
				if f := strings.Split(l, "\t"); len(f) != 33 {
					t.Fatalf("%d fields in %q", len(f), l)
				}
			}
		}},
		{"waf", "_waflogs_", func(t *testing.T, b []byte) { jsonLines(t, b, n) }},
		{"guardduty", "/GuardDuty/", func(t *testing.T, b []byte) { jsonLines(t, b, n) }},
		{"cloudtrail", "_CloudTrail_", func(t *testing.T, b []byte) {
			var v struct{ Records []json.RawMessage }
			if err := json.Unmarshal(b, &v); err != nil {
				t.Fatal(err)
			}
			if len(v.Records) != n {
				t.Fatalf("%d records, want %d", len(v.Records), n)
			}
		}},
	} {
		t.Run(c.logType, func(t *testing.T) {
			key, b := object(t, c.logType, 1, n)
			if !strings.Contains(key, c.keyPart) || !strings.HasSuffix(key, ".gz") {
				t.Errorf("key %q: want it to contain %q and end in .gz", key, c.keyPart)
			}
			c.check(t, b)
		})
	}
}

func lines(t *testing.T, b []byte, want int) []string {
	t.Helper()
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	if len(out) != want {
		t.Fatalf("%d lines, want %d", len(out), want)
	}
	return out
}

func jsonLines(t *testing.T, b []byte, want int) {
	t.Helper()
	for i, l := range lines(t, b, want) {
		if !json.Valid([]byte(l)) {
			t.Fatalf("line %d is not JSON: %s", i+1, l)
		}
	}
}
