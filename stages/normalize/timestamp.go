package normalize

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/siemstream/siemstream/internal/doc"
	"github.com/siemstream/siemstream/schemas"
)

// fileTimestamp follows LogS3.extract_file_timestamp (UTC).
func fileTimestamp(re *regexp.Regexp, key string) (schemas.Time, error) {
	m := re.FindStringSubmatch(key)
	if m == nil {
		return schemas.Time{}, fmt.Errorf("%w: file_timestamp_format does not match the S3 key", ErrTimestamp)
	}
	v := map[string]int{"year": 2000, "month": 1, "day": 1}
	for i, name := range re.SubexpNames() {
		if name == "" || i >= len(m) {
			continue
		}
		n, err := strconv.Atoi(m[i])
		if err != nil {
			return schemas.Time{}, fmt.Errorf("%w: file timestamp group %s=%q", ErrTimestamp, name, m[i])
		}
		v[name] = n
	}
	t := time.Date(v["year"], time.Month(v["month"]), v["day"], v["hour"], v["minute"], v["second"], 0, time.UTC)
	if t.Year() != v["year"] || int(t.Month()) != v["month"] || t.Day() != v["day"] || v["microsecond"] > 999999 {
		return schemas.Time{}, fmt.Errorf("%w: file timestamp out of range", ErrTimestamp)
	}
	return schemas.Time{Unix: t.Unix(), Micro: int32(v["microsecond"])}, nil
}

var reNano = regexp.MustCompile(`^(.*)([0-9]{2}\.[0-9]{1,9})(.*)`)

// timestamp follows LogParser.get_timestamp.
func (s *Stage) timestamp(sc *scratch, lt *schemas.LogType, d *doc.Doc, skip bool) (schemas.Time, error) {
	root := d.Root()
	if len(lt.TimestampKeys) > 0 && !skip {
		var v doc.Node
		var key string
		for i, k := range lt.TimestampKeys {
			key = k
			switch k {
			case "cwe_timestamp":
				sc.via.setCWETimestamp(d, root)
			case "cwl_timestamp":
				sc.via.setCWLTimestamp(d, root)
			case "file_timestamp":
				if sc.si.fileTSErr != nil {
					return schemas.Time{}, sc.si.fileTSErr
				}
				if !sc.si.hasFileTS {
					return schemas.Time{}, fmt.Errorf("%w: timestamp_key file_timestamp without file_timestamp_format", ErrTimestamp)
				}
				return sc.si.fileTS, nil
			}
			v = pyValue(d, lt.TimestampPaths[i])
			if v != doc.Nil {
				break
			}
		}
		if v == doc.Nil {
			return schemas.Time{}, fmt.Errorf("%w: field %q is missing or empty", ErrTimestamp, key)
		}
		for _, f := range lt.TimestampFormats {
			t, ok, err := s.parseTime(sc, lt, d, v, f)
			if err != nil {
				return schemas.Time{}, fmt.Errorf("%w: field %q: %w", ErrTimestamp, key, err)
			}
			if ok {
				return t, nil
			}
		}
		return schemas.Time{}, fmt.Errorf("%w: field %q value %q matches no timestamp_format", ErrTimestamp, key, clip(d.AppendPyStr(nil, v)))
	}
	if n := d.Child(root, "@timestamp"); n != doc.Nil && !skip {
		v := pyValue(d, doc.ParsePath("@timestamp"))
		if v == doc.Nil {
			return schemas.Time{}, fmt.Errorf("%w: field @timestamp is empty", ErrTimestamp)
		}
		t, ok, err := s.parseTime(sc, lt, d, v, lt.TimestampFormat)
		if err != nil || !ok {
			return schemas.Time{}, fmt.Errorf("%w: field @timestamp value %q does not match timestamp_format", ErrTimestamp, clip(d.AppendPyStr(nil, v)))
		}
		return t, nil
	}
	if sc.si.hasFileTS {
		return sc.si.fileTS, nil
	}
	if t, ok := sc.via.cwlTime(); ok {
		return t, nil
	}
	return sc.nowT, nil
}

func clip(b []byte) string {
	if len(b) > 64 {
		b = append(b[:61:61], "..."...)
	}
	return string(b)
}

// parseTime parses one value with one format. err: es-loader would raise
// (not a ValueError), so no other format is tried.
func (s *Stage) parseTime(sc *scratch, lt *schemas.LogType, d *doc.Doc, v doc.Node, f schemas.TimeFormat) (schemas.Time, bool, error) {
	switch d.Kind(v) {
	case doc.String:
		t, ok := parseTimeString(sc, lt, d.Bytes(v), f)
		return t, ok, nil
	case doc.Number, doc.True, doc.False:
		if lt.TimestampNano {
			return schemas.Time{}, false, errors.New("timestamp_nano on a non-string value")
		}
		if f.Kind != schemas.TimeEpoch {
			return schemas.Time{}, false, fmt.Errorf("a %s is not a string for format %q", d.Kind(v), f.Layout)
		}
		var x float64
		switch d.Kind(v) {
		case doc.True:
			x = 1
		case doc.False:
			x = 0
		default:
			x, _ = strconv.ParseFloat(string(d.Bytes(v)), 64)
		}
		t, ok := schemas.EpochToTime(x, lt.TimestampTZ)
		if !ok {
			return schemas.Time{}, false, errors.New("epoch value out of range")
		}
		return t, true, nil
	}
	return schemas.Time{}, false, fmt.Errorf("a %s cannot be a timestamp", d.Kind(v))
}

// parseTimeString is parseTime of a string value (output plans call it
// with a record field's bytes).
func parseTimeString(sc *scratch, lt *schemas.LogType, b []byte, f schemas.TimeFormat) (schemas.Time, bool) {
	if lt.TimestampNano {
		if m := reNano.FindSubmatchIndex(b); m != nil && m[7] > m[6] {
			g2 := b[m[4]:m[5]]
			if len(g2) > 9 {
				g2 = g2[:9]
			}
			sc.buf = append(sc.buf[:0], b[m[2]:m[3]]...)
			sc.buf = append(sc.buf, g2...)
			for i := len(g2); i < 9; i++ {
				sc.buf = append(sc.buf, '0')
			}
			sc.buf = append(sc.buf, b[m[6]:m[7]]...)
			b = sc.buf
		}
	}
	return f.ParseString(b, lt.TimestampTZ, sc.now)
}
