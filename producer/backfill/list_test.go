package backfill

import (
	"strings"
	"testing"
	"time"
)

func TestParseLine(t *testing.T) {
	tokyo := time.FixedZone("JST", 9*3600)
	cases := []struct {
		name   string
		line   string
		kind   LineKind
		bucket string
		key    string
		size   int64
		mod    time.Time
		err    bool
	}{
		{name: "aws s3 ls", line: "2025-03-14 12:00:00      12345 AWSLogs/123/vpcflowlogs/a.log.gz", kind: LineLS,
			key: "AWSLogs/123/vpcflowlogs/a.log.gz", size: 12345, mod: time.Date(2025, 3, 14, 3, 0, 0, 0, time.UTC)},
		{name: "key with spaces", line: "2025-03-14 12:00:00      12345 logs/my file  with  spaces.log.gz", kind: LineLS,
			key: "logs/my file  with  spaces.log.gz", size: 12345, mod: time.Date(2025, 3, 14, 3, 0, 0, 0, time.UTC)},
		{name: "key with leading and trailing space", line: "2025-03-14 12:00:00          7  lead and trail ", kind: LineLS,
			key: " lead and trail ", size: 7, mod: time.Date(2025, 3, 14, 3, 0, 0, 0, time.UTC)},
		{name: "size wider than the column", line: "2025-03-14 12:00:00 12345678901 big.gz", kind: LineLS,
			key: "big.gz", size: 12345678901, mod: time.Date(2025, 3, 14, 3, 0, 0, 0, time.UTC)},
		{name: "human readable", line: "2025-03-14 12:00:00    2.0 KiB a/b c.gz", kind: LineLS,
			key: "a/b c.gz", size: 2048, mod: time.Date(2025, 3, 14, 3, 0, 0, 0, time.UTC)},
		{name: "human readable one byte", line: "2025-03-14 12:00:00     1 Byte x", kind: LineLS,
			key: "x", size: 1, mod: time.Date(2025, 3, 14, 3, 0, 0, 0, time.UTC)},
		{name: "CRLF", line: "2025-03-14 12:00:00         10 k.gz\r", kind: LineLS,
			key: "k.gz", size: 10, mod: time.Date(2025, 3, 14, 3, 0, 0, 0, time.UTC)},
		{name: "PRE line", line: "                           PRE AWSLogs/", kind: LineSkip},
		{name: "blank", line: "", kind: LineSkip},
		{name: "spaces only", line: "   \t ", kind: LineSkip},
		{name: "summary objects", line: "Total Objects: 12", kind: LineSkip},
		{name: "summary size", line: "   Total Size: 123456", kind: LineSkip},
		{name: "es-loader error log", line: "2025-03-14 12:00:01.123456+00:00\t17\tAWSLogs/1/CloudTrail/x y.json.gz", kind: LineErrorLog,
			key: "AWSLogs/1/CloudTrail/x y.json.gz", size: -1},
		{name: "es-loader error log no fraction", line: "2025-03-14 12:00:01+00:00\t3\tk", kind: LineErrorLog, key: "k", size: -1},
		{name: "es-loader error log key with tab", line: "2025-03-14 12:00:01+00:00\t3\ta\tb", kind: LineErrorLog, key: "a\tb", size: -1},
		{name: "our error log", line: "2025-03-14T12:00:01.5Z\t4\ts3://bkt/k with space.gz\tfailed after 3 attempt(s): boom", kind: LineErrorLog,
			bucket: "bkt", key: "k with space.gz", size: -1},
		{name: "our error log key with tab", line: "2025-03-14T12:00:01Z\t4\ts3://bkt/a\tb\treason", kind: LineErrorLog,
			bucket: "bkt", key: "a\tb", size: -1},
		{name: "redrive error log, message id column", line: "2025-03-14T12:00:01Z\t0f1e-22\ts3://bkt/k\treason", kind: LineErrorLog,
			bucket: "bkt", key: "k", size: -1},
		{name: "redrive error log without object", line: "2025-03-14T12:00:01Z\t0f1e-22\t-\tnot an S3 notification", kind: LineSkip},
		{name: "finish log", line: "12\ts3://bkt/a b", kind: LineFinishLog, bucket: "bkt", key: "a b", size: -1},
		{name: "plain key", line: "AWSLogs/123/vpcflowlogs/a.log.gz", kind: LinePlain, key: "AWSLogs/123/vpcflowlogs/a.log.gz", size: -1},
		{name: "plain key with spaces", line: "dir/a b c.gz", kind: LinePlain, key: "dir/a b c.gz", size: -1},
		{name: "plain key with tabs but not a log", line: "a\tb\tc", kind: LinePlain, key: "a\tb\tc", size: -1},
		{name: "s3 uri", line: "s3://other/dir/k.gz", kind: LinePlain, bucket: "other", key: "dir/k.gz", size: -1},
		{name: "s3 uri without key", line: "s3://other/", kind: LinePlain, err: true},
		{name: "bad date in ls line", line: "2025-13-44 12:00:00      1 k", kind: LineLS, err: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, kind, err := ParseLine(c.line, tokyo)
			if kind != c.kind {
				t.Fatalf("kind = %v, want %v", kind, c.kind)
			}
			if (err != nil) != c.err {
				t.Fatalf("err = %v, want error %v", err, c.err)
			}
			if c.err || kind == LineSkip {
				return
			}
			if e.Bucket != c.bucket || e.Key != c.key || e.Size != c.size || !e.LastModified.Equal(c.mod) {
				t.Errorf("got bucket=%q key=%q size=%d mod=%s, want %q %q %d %s", e.Bucket, e.Key, e.Size, e.LastModified, c.bucket, c.key, c.size, c.mod)
			}
		})
	}
}

func TestReadList(t *testing.T) {
	in := "\uFEFF2025-03-14 12:00:00      12345 a/one.gz\n" +
		"                           PRE a/\n" +
		"\n" +
		"2025-03-14 12:00:00         10 a/two words.gz\r\n" +
		"s3://other/x.gz\n" +
		"plain/key.gz\n" +
		"2025-03-14 12:00:01.123456+00:00\t9\tfailed/key.gz\n" +
		"\n" +
		"Total Objects: 4\n" +
		"   Total Size: 12355\n"
	got, st, err := ReadList(strings.NewReader(in), ListOptions{Bucket: "bkt", Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		line        int
		bucket, key string
	}{{1, "bkt", "a/one.gz"}, {4, "bkt", "a/two words.gz"}, {5, "other", "x.gz"}, {6, "bkt", "plain/key.gz"}, {7, "bkt", "failed/key.gz"}}
	if len(got) != len(want) {
		t.Fatalf("got %d entries %+v, want %d", len(got), got, len(want))
	}
	for i, w := range want {
		if got[i].Line != w.line || got[i].Bucket != w.bucket || got[i].Key != w.key {
			t.Errorf("entry %d = %d %s %q, want %d %s %q", i, got[i].Line, got[i].Bucket, got[i].Key, w.line, w.bucket, w.key)
		}
	}
	if st.Lines != 10 || st.Skipped != 5 || st.ByKind[LineLS] != 2 || st.ByKind[LinePlain] != 2 || st.ByKind[LineErrorLog] != 1 {
		t.Errorf("stats = %+v", st)
	}
}

func TestReadListNeedsBucket(t *testing.T) {
	_, _, err := ReadList(strings.NewReader("s3://b/ok\nbare/key\n"), ListOptions{})
	if err == nil || !strings.Contains(err.Error(), "line 2") || !strings.Contains(err.Error(), "--bucket") {
		t.Fatalf("err = %v, want line 2 needs --bucket", err)
	}
}

func TestReadListLongLine(t *testing.T) {
	_, _, err := ReadList(strings.NewReader("ok\n"+strings.Repeat("x", maxLine+1)+"\n"), ListOptions{Bucket: "b"})
	if err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("err = %v, want a line 2 error", err)
	}
}

func FuzzParseLine(f *testing.F) {
	for _, s := range []string{
		"2025-03-14 12:00:00      12345 path/to/key",
		"2025-03-14 12:00:00    2.0 KiB a b",
		"                           PRE AWSLogs/",
		"2025-03-14 12:00:01.123456+00:00\t17\tkey",
		"2025-03-14T12:00:01Z\t4\ts3://bkt/a\tb\treason",
		"12\ts3://bkt/a b",
		"s3://b/k",
		"Total Objects: 1",
		"plain",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		e, kind, err := ParseLine(line, time.UTC)
		if err != nil || kind == LineSkip {
			return
		}
		if e.Key == "" {
			t.Fatalf("%q: entry without key (kind %v)", line, kind)
		}
		if kind == LineLS && !strings.HasSuffix(strings.TrimSuffix(line, "\r"), e.Key) {
			t.Fatalf("%q: key %q is not the end of the line", line, e.Key)
		}
	})
}
