package backfill

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Entry is one object to load.
type Entry struct {
	// Line is the 1-based line of the list file the entry came from, or the
	// object's position in the S3 listing. It is the first column of the
	// finish and error logs, as in es-loader.
	Line int
	// Bucket and Key name the object; Key is exactly the S3 key (spaces,
	// tabs and all), not URL-encoded.
	Bucket, Key string
	// Size is the object size in bytes, -1 when the source does not say
	// (plain keys, error logs). Approximate for `aws s3 ls --human-readable`.
	Size int64
	// LastModified is zero when the source does not say: plain keys and
	// error logs (whose time column is when the load failed, not the
	// object's time).
	LastModified time.Time
}

// URI is s3://bucket/key, the form used in the logs.
func (e Entry) URI() string { return "s3://" + e.Bucket + "/" + e.Key }

// LineKind says what a list-file line was.
type LineKind int

const (
	// LineSkip is a line that names no object: blank, `PRE dir/`, or the
	// `Total Objects:` / `Total Size:` trailer of `aws s3 ls --summarize`.
	LineSkip LineKind = iota
	// LineLS is an `aws s3 ls --recursive` line: date, time, size, key.
	LineLS
	// LineErrorLog is a line of an error log: es-loader's
	// `time<TAB>line<TAB>key` or this package's
	// `time<TAB>line<TAB>s3://bucket/key<TAB>reason`.
	LineErrorLog
	// LineFinishLog is a finish-log line `line<TAB>s3://bucket/key`.
	LineFinishLog
	// LinePlain is a bare key or an s3://bucket/key URI.
	LinePlain
)

func (k LineKind) String() string {
	switch k {
	case LineSkip:
		return "skip"
	case LineLS:
		return "aws-s3-ls"
	case LineErrorLog:
		return "error-log"
	case LineFinishLog:
		return "finish-log"
	case LinePlain:
		return "plain"
	}
	return "LineKind(" + strconv.Itoa(int(k)) + ")"
}

// `aws s3 ls` prints "<date> <time> <size right-aligned to 10> <key>": the
// key starts after exactly one space, so leading spaces of a key survive.
// --human-readable sizes look like "1 Byte", "12 Bytes", "3.4 KiB".
// The human-readable forms are tried first ("%d Bytes" below 1 KiB, "%.1f
// KiB" and up), so a plain listing's key starting with "Bytes " is misread;
// no real log key does.
var lsLine = regexp.MustCompile(`^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}) +(\d+ Bytes?|\d+\.\d+ (?:KiB|MiB|GiB|TiB|PiB|EiB)|\d+) (.+)$`)

var (
	preLine     = regexp.MustCompile(`^ +PRE .*/$`)
	summaryLine = regexp.MustCompile(`^ *Total (?:Objects|Size): `)
	finishLine  = regexp.MustCompile(`^\d+\ts3://`)
)

// ParseLine reads one list-file line (without its newline). A bucket that
// the line does not name is left empty for the caller to fill in. loc is the
// time zone of `aws s3 ls` dates (the CLI prints them in the local zone of
// the machine that ran it); nil means time.Local.
func ParseLine(line string, loc *time.Location) (Entry, LineKind, error) {
	line = strings.TrimSuffix(line, "\r")
	e := Entry{Size: -1}
	if strings.TrimSpace(line) == "" || preLine.MatchString(line) || summaryLine.MatchString(line) {
		return e, LineSkip, nil
	}
	if m := lsLine.FindStringSubmatch(line); m != nil {
		if loc == nil {
			loc = time.Local
		}
		t, err := time.ParseInLocation(time.DateTime, m[1], loc)
		if err != nil {
			return e, LineLS, fmt.Errorf("date %q: %w", m[1], err)
		}
		e.LastModified = t
		e.Size = parseSize(m[2])
		e.Key = m[3]
		return e, LineLS, nil
	}
	if strings.Count(line, "\t") >= 2 {
		if fields := strings.Split(line, "\t"); fields[1] != "" {
			if _, ok := parseLogTime(fields[0]); ok {
				return errorLogEntry(e, fields)
			}
		}
	}
	if finishLine.MatchString(line) {
		_, uri, _ := strings.Cut(line, "\t")
		if err := e.setURI(uri); err != nil {
			return e, LineFinishLog, err
		}
		return e, LineFinishLog, nil
	}
	if strings.HasPrefix(line, "s3://") {
		if err := e.setURI(line); err != nil {
			return e, LinePlain, err
		}
		return e, LinePlain, nil
	}
	e.Key = line
	return e, LinePlain, nil
}

func errorLogEntry(e Entry, fields []string) (Entry, LineKind, error) {
	var obj string
	switch {
	case fields[2] == "-":
		// A redrive failure that named no object (unparseable message).
		return e, LineSkip, nil
	case len(fields) >= 4 && strings.HasPrefix(fields[2], "s3://"):
		// Ours: the reason is the last column and never holds a tab.
		obj = strings.Join(fields[2:len(fields)-1], "\t")
	default:
		// es-loader's: everything after the line column is the key.
		obj = strings.Join(fields[2:], "\t")
	}
	if obj == "-" || obj == "" {
		// A redrive failure that named no object (unparseable message).
		return e, LineSkip, nil
	}
	if strings.HasPrefix(obj, "s3://") {
		if err := e.setURI(obj); err != nil {
			return e, LineErrorLog, err
		}
		return e, LineErrorLog, nil
	}
	e.Key = obj
	return e, LineErrorLog, nil
}

func (e *Entry) setURI(uri string) error {
	b, k, ok := strings.Cut(strings.TrimPrefix(uri, "s3://"), "/")
	if !ok || b == "" || k == "" {
		return fmt.Errorf("%q is not s3://bucket/key", uri)
	}
	e.Bucket, e.Key = b, k
	return nil
}

// parseLogTime accepts the time column of es-loader's error log (Python
// str(datetime): "2025-03-14 12:00:00.123456+00:00") and of ours (RFC 3339).
func parseLogTime(s string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999Z07:00"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

var sizeUnits = map[string]float64{"Byte": 1, "Bytes": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40, "PiB": 1 << 50, "EiB": 1 << 60}

func parseSize(s string) int64 {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n
	}
	num, unit, _ := strings.Cut(s, " ")
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return -1
	}
	return int64(f * sizeUnits[unit])
}

// ListOptions says how to read a list file.
type ListOptions struct {
	// Bucket is used for lines that name no bucket (`aws s3 ls` lines, bare
	// keys, es-loader error-log lines). Empty: such lines are an error.
	Bucket string
	// Location is the time zone of `aws s3 ls` dates; nil means time.Local.
	Location *time.Location
}

// ListStats counts what a list file held.
type ListStats struct {
	Lines   int
	Skipped int
	ByKind  map[LineKind]int
}

// maxLine bounds a list-file line: an S3 key is at most 1024 bytes.
const maxLine = 64 << 10

// ReadList parses a whole list file. Every line that names an object
// becomes an Entry with its 1-based line number; a line that cannot be
// read is an error naming the line.
func ReadList(r io.Reader, opts ListOptions) ([]Entry, ListStats, error) {
	st := ListStats{ByKind: map[LineKind]int{}}
	var out []Entry
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxLine)
	for sc.Scan() {
		st.Lines++
		line := sc.Text()
		if st.Lines == 1 {
			line = strings.TrimPrefix(line, "\uFEFF")
		}
		e, kind, err := ParseLine(line, opts.Location)
		st.ByKind[kind]++
		if err != nil {
			return nil, st, fmt.Errorf("line %d: %w", st.Lines, err)
		}
		if kind == LineSkip {
			st.Skipped++
			continue
		}
		if e.Bucket == "" {
			if opts.Bucket == "" {
				return nil, st, fmt.Errorf("line %d: key %q names no bucket: give --bucket", st.Lines, e.Key)
			}
			e.Bucket = opts.Bucket
		}
		e.Line = st.Lines
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, st, fmt.Errorf("line %d: longer than %d bytes (not a list file?)", st.Lines+1, maxLine)
		}
		return nil, st, fmt.Errorf("line %d: %w", st.Lines+1, err)
	}
	return out, st, nil
}
