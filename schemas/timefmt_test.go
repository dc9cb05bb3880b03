package schemas

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"
)

var isoCases = []string{
	"2025-03-14T11:58:01Z", "2025-03-14T11:58:01.123Z", "2025-03-14T11:58:01.123456789Z", "2025-03-14 11:58:01",
	"2025-03-14T11:58:01+09:00", "2025-03-14T11:58:01-04:30", "2025-03-14T11:58:01+0900", "2025-03-14T11:58:01+09",
	"2025-03-14T11:58", "2025-03-14T11", "2025-03-14", "20250314T115801Z", "20250314", "2025-03-14T115801",
	"2025-W11-5T10:00:00", "2025W115", "2025W11", "2025-W11", "2025-03-14T11:58:01,5Z", "2025-03-14T11:58:01.Z",
	"2025-03-14T11:58:01:5", "2025-03-14T11.5", "2025-03-14T11:58.5", "2025-02-30T00:00:00", "2025-03-14T24:00:00",
	"2025-03-14T11:58:60", "2025-03-14T11:58:01+24:00", "2025-03-14T11:58:01+23:59:59", // sub-second offsets are dropped (known difference)
	"2025-03-14X11:58:01", "2025-03-1411:58:01", "2025-0314", "202503-14", "2025-03-14T", "2025-03-14T1", "2025-03-14T11:5",
	"2025-03-14T11:58:01Zx", "2025-03-14T11:58:01+", "2025-03-14T11:58:01+0", "2025-03-14T11:58:01+000", "2025-03-14T11:58:01.1234567+01:00",
	"0001-01-01T00:00:00", "9999-12-31T23:59:59.999999", "2025-03-14T11:58:01.1a", "2020-W53-7", "2021-W53-1", " 2025-03-14",
	"2025-03-14T11:58:01-00:00", "2024-02-29T00:00:00Z", "2025-03-14T11:58:01.000000Z",
}

func TestParseISOAgainstPython(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed")
	}
	in, _ := json.Marshal(isoCases)
	cmd := exec.Command(py, "-c", `import json,sys
from datetime import datetime, timezone, timedelta
tz = timezone(timedelta(hours=1.5))
for s in json.load(sys.stdin):
    try:
        d = datetime.fromisoformat(s)
        if not d.tzinfo: d = d.replace(tzinfo=tz)
        print(d.isoformat())
    except Exception as e:
        print("ERR")`)
	cmd.Stdin = bytes.NewReader(in)
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Split(strings.TrimSpace(string(out)), "\n")
	for i, s := range isoCases {
		got := "ERR"
		if tm, ok := ParseISO([]byte(s), 5400); ok {
			got = tm.ISO()
		}
		if got != want[i] {
			t.Errorf("%q: got %s, python %s", s, got, want[i])
		}
	}
}

var strptimeCases = []struct{ format, in string }{
	{"%d/%b/%Y:%H:%M:%S %z", "14/Mar/2025:11:58:01 +0000"},
	{"%d/%b/%Y:%H:%M:%S %z", "14/mar/2025:11:58:01 -0930"},
	{"%d/%b/%Y:%H:%M:%S %z", "14/Mar/2025:11:58:01 +09:00"},
	{"%b %d, %Y, %I:%M:%S %p", "Mar 14, 2025, 11:58:01 PM"},
	{"%b %d, %Y, %I:%M:%S %p", "Mar 14, 2025, 12:58:01 AM"},
	{"%Y-%m-%d %H:%M:%S,%f", "2025-03-14 11:58:01,123"},
	{"%m/%d/%y %H:%M:%S.%f", "03/14/25 11:58:01.123456"},
	{"%Y-%m-%d %H:%M:%S", "2025-03-14   11:58:01"},
	{"%Y-%m-%d %H:%M:%S", "2025-3-4 1:5:1"},
	{"%Y-%m-%d %H:%M:%S", "2025-03-14 11:58:01x"},
	{"%Y-%m-%d", "2025-02-30"},
	{"%d %B %Y", "14 MARCH 2025"},
	{"%a, %d %b %Y %H:%M:%S %Z", "Fri, 14 Mar 2025 11:58:01 GMT"},
	{"%Y %j", "2025 073"},
	{"%Y %W %w", "2025 10 5"},
	{"%Y %U %a", "2025 00 Sat"},
	{"%H:%M", "11:58"},
	{"%m-%d", "02-29"},
	{"%Y-%m-%dT%H:%M:%S%z", "2025-03-14T11:58:01Z"},
	{"%Y%m%d%H%M%S", "20250314115801"},
}

func TestStrptimeAgainstPython(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed")
	}
	in, _ := json.Marshal(strptimeCases)
	cmd := exec.Command(py, "-c", `import json,sys
from datetime import datetime, timezone, timedelta
tz = timezone(timedelta(hours=-2))
for c in json.load(sys.stdin):
    try:
        d = datetime.strptime(c["In"], c["Format"])
        if not d.tzinfo: d = d.replace(tzinfo=tz)
        print(d.isoformat())
    except Exception as e:
        print("ERR")`)
	b, _ := json.Marshal(strptimeCases)
	_ = b
	type kv struct{ Format, In string }
	var cs []kv
	for _, c := range strptimeCases {
		cs = append(cs, kv{c.format, c.in})
	}
	in, _ = json.Marshal(cs)
	cmd.Stdin = bytes.NewReader(in)
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Split(strings.TrimSpace(string(out)), "\n")
	for i, c := range strptimeCases {
		f, err := ParseTimeFormat(c.format)
		if err != nil {
			t.Errorf("%q: %v", c.format, err)
			continue
		}
		got := "ERR"
		if tm, ok := f.ParseString([]byte(c.in), -7200, time.Now()); ok {
			got = tm.ISO()
		}
		if got != want[i] {
			t.Errorf("%q %q: got %s, python %s", c.format, c.in, got, want[i])
		}
	}
}

func TestEpoch(t *testing.T) {
	for _, c := range []struct {
		in   string
		tz   int32
		want string
	}{
		{"1710417660", 0, "2024-03-14T12:01:00+00:00"},
		{"1710417660123", 0, "2024-03-14T12:01:00.123000+00:00"},
		{"1710417660123456", 0, "2024-03-14T12:01:00.123456+00:00"},
		{"1710417660.5", 32400, "2024-03-14T21:01:00.500000+09:00"},
		{" 1_710_417_660 ", 0, "2024-03-14T12:01:00+00:00"},
	} {
		f, _ := ParseTimeFormat("epoch")
		tm, ok := f.ParseString([]byte(c.in), c.tz, time.Now())
		if !ok || tm.ISO() != c.want {
			t.Errorf("%q: got %v %v want %s", c.in, tm, ok, c.want)
		}
	}
	f, _ := ParseTimeFormat("epoch")
	for _, bad := range []string{"", "abc", "nan", "1e15", "-", "1e300"} {
		if tm, ok := f.ParseString([]byte(bad), 0, time.Now()); ok {
			t.Errorf("%q: accepted as %v", bad, tm)
		}
	}
}

func TestSyslog(t *testing.T) {
	f, _ := ParseTimeFormat("syslog")
	now := time.Date(2025, 1, 2, 3, 0, 0, 0, time.UTC)
	for in, want := range map[string]string{
		"Jan  2 10:00:00 host": "2025-01-02T10:00:00+00:00", // within now+12h
		"Jan  2 16:00:00 host": "2024-01-02T16:00:00+00:00", // in the future: previous year
		"Dec 31 23:59:59.5 x":  "2024-12-31T23:59:59.500000+00:00",
		"Feb 29 00:00:00":      "2024-02-29T00:00:00+00:00",
		"Foo 29 00:00:00":      "ERR",
	} {
		got := "ERR"
		if tm, ok := f.ParseString([]byte(in), 0, now); ok {
			got = tm.ISO()
		}
		if got != want {
			t.Errorf("%q: got %s want %s", in, got, want)
		}
	}
}

func TestParseTZ(t *testing.T) {
	for in, want := range map[string]int32{"+00:00": 0, "+09:00": 32400, "-04:30": -16200, "9": 32400, "-3.5": -12600, "": 0} {
		got, err := ParseTZ(in)
		if err != nil || got != want {
			t.Errorf("%q: %d %v want %d", in, got, err, want)
		}
	}
}

func FuzzParseTimestamp(f *testing.F) {
	for _, c := range isoCases {
		f.Add("iso8601", c)
	}
	for _, c := range strptimeCases {
		f.Add(c.format, c.in)
	}
	f.Add("epoch", "1710417660.123")
	f.Add("syslog", "Mar 14 11:58:01 host")
	f.Fuzz(func(t *testing.T, format, in string) {
		tf, err := ParseTimeFormat(format)
		if err != nil {
			return
		}
		tm, ok := tf.ParseString([]byte(in), 3600, time.Date(2025, 3, 14, 12, 0, 0, 0, time.UTC))
		if ok {
			y, _, _, _, _, _ := tm.Civil()
			if y < 0 || y > 10000 || tm.Micro < 0 || tm.Micro > 999999 {
				t.Fatalf("%q %q: out of range %v", format, in, tm)
			}
			_ = tm.ISO()
		}
	})
}
