package schemas

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/siemstream/siemstream/internal/pystr"
)

// Time is an aware Python datetime: an instant with microsecond precision
// and the UTC offset it is shown in.
type Time struct {
	Unix   int64 // seconds since the epoch (UTC)
	Micro  int32 // 0..999999
	Offset int32 // seconds east of UTC
}

// civil returns the wall-clock fields in the given offset.
func civil(unix int64, offset int32) time.Time {
	return time.Unix(unix+int64(offset), 0).UTC()
}

// AppendISO appends Python's datetime.isoformat(): YYYY-MM-DDTHH:MM:SS,
// ".ffffff" only when microseconds are not zero, then the offset as +HH:MM
// (+HH:MM:SS when it has seconds).
func (t Time) AppendISO(dst []byte) []byte {
	c := civil(t.Unix, t.Offset)
	y, mo, d := c.Date()
	h, mi, s := c.Clock()
	dst = appendInt(dst, y, 4)
	dst = append(dst, '-')
	dst = appendInt(dst, int(mo), 2)
	dst = append(dst, '-')
	dst = appendInt(dst, d, 2)
	dst = append(dst, 'T')
	dst = appendInt(dst, h, 2)
	dst = append(dst, ':')
	dst = appendInt(dst, mi, 2)
	dst = append(dst, ':')
	dst = appendInt(dst, s, 2)
	if t.Micro != 0 {
		dst = append(dst, '.')
		dst = appendInt(dst, int(t.Micro), 6)
	}
	off := int(t.Offset)
	if off < 0 {
		dst = append(dst, '-')
		off = -off
	} else {
		dst = append(dst, '+')
	}
	dst = appendInt(dst, off/3600, 2)
	dst = append(dst, ':')
	dst = appendInt(dst, off/60%60, 2)
	if off%60 != 0 {
		dst = append(dst, ':')
		dst = appendInt(dst, off%60, 2)
	}
	return dst
}

// ISO is AppendISO as a string.
func (t Time) ISO() string { return string(t.AppendISO(nil)) }

func appendInt(dst []byte, v, width int) []byte {
	var b [20]byte
	i := len(b)
	for v > 0 || width > 0 || i == len(b) {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
		width--
	}
	return append(dst, b[i:]...)
}

// FromGo converts a Go time (e.g. "now") to a Time in the given offset.
func FromGo(t time.Time, offset int32) Time {
	return Time{Unix: t.Unix(), Micro: int32(t.Nanosecond() / 1000), Offset: offset}
}

// In returns the same instant shown in another offset (astimezone).
func (t Time) In(offset int32) Time { t.Offset = offset; return t }

// Civil returns the wall-clock fields in t's offset.
func (t Time) Civil() (year int, month time.Month, day, hour, min, sec int) {
	c := civil(t.Unix, t.Offset)
	year, month, day = c.Date()
	hour, min, sec = c.Clock()
	return
}

// YearDay is the 1-based day of the year and Weekday the day of the week
// (Sunday = 0), in t's offset.
func (t Time) YearDay() int          { return civil(t.Unix, t.Offset).YearDay() }
func (t Time) Weekday() time.Weekday { return civil(t.Unix, t.Offset).Weekday() }
func (t Time) Go() time.Time {
	return time.Unix(t.Unix, int64(t.Micro)*1000).In(time.FixedZone("", int(t.Offset)))
}
func (t Time) Before(u Time) bool { return t.Unix < u.Unix || (t.Unix == u.Unix && t.Micro < u.Micro) }
func (t Time) Equal(u Time) bool  { return t.Unix == u.Unix && t.Micro == u.Micro }
func (t Time) String() string     { return t.ISO() }
func mkTime(y, mo, d, h, mi, s, us int, off int32) Time {
	u := time.Date(y, time.Month(mo), d, h, mi, s, 0, time.UTC).Unix() - int64(off)
	return Time{Unix: u, Micro: int32(us), Offset: off}
}

// minUnix/maxUnix bound Python datetime (years 1..9999).
var (
	minUnix = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	maxUnix = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC).Unix()
)

func validDate(y, m, d int) bool {
	if y < 1 || y > 9999 || m < 1 || m > 12 || d < 1 {
		return false
	}
	return d <= daysIn(y, m)
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// TimeKind is how a timestamp_format is interpreted.
type TimeKind uint8

// Timestamp format kinds (es-loader utils.convert_timestr_to_datetime tests
// the format string for the substrings "epoch", "syslog", "iso8601" in that
// order; anything else is a strptime pattern).
const (
	TimeISO8601 TimeKind = iota
	TimeEpoch
	TimeSyslog
	TimeStrptime
)

// TimeFormat is one compiled timestamp_format.
type TimeFormat struct {
	Kind   TimeKind
	Layout string // the configured text
	st     *strptime
}

// ParseTimeFormat compiles a timestamp_format value.
func ParseTimeFormat(f string) (TimeFormat, error) {
	switch {
	case strings.Contains(f, "epoch"):
		return TimeFormat{Kind: TimeEpoch, Layout: f}, nil
	case strings.Contains(f, "syslog"):
		return TimeFormat{Kind: TimeSyslog, Layout: f}, nil
	case strings.Contains(f, "iso8601"):
		return TimeFormat{Kind: TimeISO8601, Layout: f}, nil
	case f == "":
		return TimeFormat{}, errors.New("empty timestamp format")
	}
	st, err := compileStrptime(f)
	if err != nil {
		return TimeFormat{}, err
	}
	return TimeFormat{Kind: TimeStrptime, Layout: f, st: st}, nil
}

// ErrTimestamp is wrapped by parse failures.
var ErrTimestamp = errors.New("timestamp does not match its format")

// ParseString parses a string timestamp. tz is timestamp_tz (offset applied
// to naive times and used to show epoch times); now is needed for syslog.
func (f TimeFormat) ParseString(s []byte, tz int32, now time.Time) (Time, bool) {
	switch f.Kind {
	case TimeEpoch:
		v, ok := parsePyFloat(s)
		if !ok {
			return Time{}, false
		}
		return EpochToTime(v, tz)
	case TimeSyslog:
		return parseSyslog(s, tz, now)
	case TimeISO8601:
		return ParseISO(s, tz)
	}
	return f.st.parse(s, tz)
}

// EpochToTime follows es-loader's convert_epoch_to_datetime: values above
// 1e12 (and below 1e15) are milliseconds, above 1e15 microseconds, else
// seconds; then datetime.fromtimestamp(v, tz) (round half even to µs).
func EpochToTime(v float64, tz int32) (Time, bool) {
	switch {
	case v > 1e12 && v < 1e15:
		v = v / 1000.0
	case v > 1e15:
		v = v / 1000000.0
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return Time{}, false
	}
	ip, fp := math.Modf(v)
	fp = math.RoundToEven(fp * 1e6)
	if fp >= 1e6 {
		fp -= 1e6
		ip++
	} else if fp < 0 {
		fp += 1e6
		ip--
	}
	if ip < float64(minUnix)-86400 || ip > float64(maxUnix)+86400 {
		return Time{}, false
	}
	t := Time{Unix: int64(ip), Micro: int32(fp), Offset: tz}
	if y, _, _, _, _, _ := t.Civil(); y < 1 || y > 9999 {
		return Time{}, false
	}
	return t, true
}

// parsePyFloat parses like Python float(str): surrounding whitespace,
// underscores between digits, inf/nan spellings.
func parsePyFloat(s []byte) (float64, bool) {
	t := pystr.Strip(string(s))
	if t == "" {
		return 0, false
	}
	if strings.Contains(t, "_") {
		// underscores only between digits
		for i := 0; i < len(t); i++ {
			if t[i] == '_' && (i == 0 || i == len(t)-1 || !isDigit(t[i-1]) || !isDigit(t[i+1])) {
				return 0, false
			}
		}
		t = strings.ReplaceAll(t, "_", "")
	}
	lower := strings.ToLower(strings.TrimLeft(t, "+-"))
	switch lower {
	case "inf", "infinity", "nan":
		return math.NaN(), true // rejected later: fromtimestamp raises
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !(isDigit(c) || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-') {
			return 0, false
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) && ne.Err == strconv.ErrRange {
			return v, true
		}
		return 0, false
	}
	return v, true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

var monthAbbr = map[string]int{"Jan": 1, "Feb": 2, "Mar": 3, "Apr": 4, "May": 5, "Jun": 6, "Jul": 7, "Aug": 8, "Sep": 9, "Oct": 10, "Nov": 11, "Dec": 12}

var reSyslog = regexp.MustCompile(`^([A-Z][a-z]{2})[\t\n\v\f\r\x{1c}-\x{1f} \x{85}\p{Z}]+(\p{Nd}{1,2})[\t\n\v\f\r\x{1c}-\x{1f} \x{85}\p{Z}]+(\p{Nd}{2}):(\p{Nd}{2}):(\p{Nd}{2})(\.(\p{Nd}{1,6}))?`)

// parseSyslog follows es-loader's convert_syslog_to_datetime: "Mon dd
// HH:MM:SS[.ffffff]" at the start of the string, the year guessed from now
// + 12 h (the previous year when the result would be later than that).
func parseSyslog(s []byte, tz int32, now time.Time) (Time, bool) {
	m := reSyslog.FindSubmatch(s)
	if m == nil {
		return Time{}, false
	}
	mon, ok := monthAbbr[string(m[1])]
	if !ok {
		return Time{}, false
	}
	atoi := func(b []byte) int { n, _ := strconv.Atoi(asciiDigits(b)); return n }
	day, h, mi, sec := atoi(m[2]), atoi(m[3]), atoi(m[4]), atoi(m[5])
	us := 0
	if len(m[7]) > 0 {
		f := asciiDigits(m[7])
		us, _ = strconv.Atoi((f + "000000")[:6])
	}
	ref := now.Add(12 * time.Hour).UTC()
	year := ref.Year()
	valid := func(y int) bool { return validDate(y, mon, day) && h < 24 && mi < 60 && sec < 60 }
	if !valid(year) {
		year--
		if !valid(year) {
			return Time{}, false
		}
	}
	t := mkTime(year, mon, day, h, mi, sec, us, tz)
	refT := FromGo(ref, 0)
	if refT.Before(t) {
		if !valid(ref.Year() - 1) {
			return Time{}, false
		}
		t = mkTime(ref.Year()-1, mon, day, h, mi, sec, us, tz)
	}
	return t, true
}

// asciiDigits maps Unicode decimal digits to ASCII (Python int() accepts them).
func asciiDigits(b []byte) string {
	ascii := true
	for _, c := range b {
		if c >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return string(b)
	}
	var sb strings.Builder
	for _, r := range string(b) {
		if r >= '0' && r <= '9' {
			sb.WriteRune(r)
			continue
		}
		// Unicode Nd digits come in contiguous blocks of ten starting at a
		// code point whose value is 0 mod 16 or where the zero sits.
		sb.WriteByte(byte('0' + digitValue(r)))
	}
	return sb.String()
}

func digitValue(r rune) int {
	for z := r; z >= r-9; z-- {
		if !isNd(z - 1) {
			return int(r - z)
		}
	}
	return 0
}

// ParseISO follows Python 3.11 datetime.fromisoformat (the C implementation
// es-loader runs): date YYYY-MM-DD, YYYYMMDD or ISO week dates, any single
// ASCII separator, HH[:MM[:SS[.f+]]] (or without colons), fraction truncated
// to microseconds, offset Z / ±HH[:MM[:SS[.ffffff]]]. A time without offset
// gets tz (timestamp_tz).
func ParseISO(b []byte, tz int32) (Time, bool) {
	n := len(b)
	if n < 7 {
		return Time{}, false
	}
	for _, c := range b {
		if c >= 0x80 {
			return Time{}, false // the C parser only reads ASCII
		}
	}
	sep, ok := isoSeparator(b)
	if !ok || sep > n {
		return Time{}, false
	}
	y, mo, d, ok := isoDate(b[:sep])
	if !ok {
		return Time{}, false
	}
	h, mi, s, us := 0, 0, 0, 0
	off := tz
	if n > sep {
		tstr := b[sep+1:]
		var tzOff int32
		var hasTZ bool
		h, mi, s, us, tzOff, hasTZ, ok = isoTime(tstr)
		if !ok {
			return Time{}, false
		}
		if hasTZ {
			off = tzOff
		}
	}
	if !validDate(y, mo, d) || h > 23 || mi > 59 || s > 59 {
		return Time{}, false
	}
	t := mkTime(y, mo, d, h, mi, s, us, off)
	return t, true
}

func isoSeparator(b []byte) (int, bool) {
	n := len(b)
	if n == 7 {
		return 7, true
	}
	if b[4] == '-' {
		if b[5] == 'W' {
			if n < 8 {
				return 0, false
			}
			if n > 8 && b[8] == '-' {
				if n == 9 {
					return 0, false
				}
				if n > 10 && isDigit(b[10]) {
					return 8, true
				}
				return 10, true
			}
			return 8, true
		}
		return 10, true
	}
	if b[4] == 'W' {
		idx := 7
		for idx < n && isDigit(b[idx]) {
			idx++
		}
		if idx < 9 {
			return idx, true
		}
		if idx%2 == 0 {
			return 7, true
		}
		return 8, true
	}
	return 8, true
}

func digits(b []byte, n int) (int, bool) {
	if len(b) < n {
		return 0, false
	}
	v := 0
	for i := 0; i < n; i++ {
		if !isDigit(b[i]) {
			return 0, false
		}
		v = v*10 + int(b[i]-'0')
	}
	return v, true
}

func isoDate(b []byte) (y, m, d int, ok bool) {
	y, ok = digits(b, 4)
	if !ok {
		return
	}
	p := b[4:]
	useSep := len(p) > 0 && p[0] == '-'
	if useSep {
		p = p[1:]
	}
	if len(p) > 0 && p[0] == 'W' {
		p = p[1:]
		var week, wd int
		week, ok = digits(p, 2)
		if !ok {
			return
		}
		p = p[2:]
		wd = 1
		if len(p) > 0 {
			if useSep {
				if p[0] != '-' {
					return 0, 0, 0, false
				}
				p = p[1:]
			}
			wd, ok = digits(p, 1)
			if !ok {
				return
			}
			p = p[1:]
		}
		if len(p) != 0 {
			return 0, 0, 0, false
		}
		return isoWeekToDate(y, week, wd)
	}
	m, ok = digits(p, 2)
	if !ok {
		return
	}
	p = p[2:]
	if useSep {
		if len(p) == 0 || p[0] != '-' {
			return 0, 0, 0, false
		}
		p = p[1:]
	}
	d, ok = digits(p, 2)
	if !ok {
		return
	}
	if len(p) != 2 {
		return 0, 0, 0, false
	}
	return y, m, d, true
}

func isoWeekToDate(y, week, wd int) (int, int, int, bool) {
	if y < 1 || y > 9999 || wd < 1 || wd > 7 {
		return 0, 0, 0, false
	}
	jan4 := time.Date(y, 1, 4, 0, 0, 0, 0, time.UTC)
	if week < 1 || week > 53 {
		return 0, 0, 0, false
	}
	if week == 53 {
		first := int(time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC).Weekday()) // Sunday=0
		leap := daysIn(y, 2) == 29
		if !(first == 4 || (first == 3 && leap)) {
			return 0, 0, 0, false
		}
	}
	wdJan4 := (int(jan4.Weekday()) + 6) % 7 // Monday=0
	monday1 := jan4.AddDate(0, 0, -wdJan4)
	t := monday1.AddDate(0, 0, (week-1)*7+wd-1)
	return t.Year(), int(t.Month()), t.Day(), true
}

// hhmmss parses HH[:?MM[:?SS[{.,}f+]]] in b[:end] like CPython's
// parse_hh_mm_ss_ff; it may peek at b[end] (the offset sign) as C does. rest
// reports that characters were left over.
func hhmmss(b []byte, end int) (h, m, s, us int, rest, ok bool) {
	vals := [3]*int{&h, &m, &s}
	p := 0
	hasSep := true
	at := func(i int) byte {
		if i < len(b) {
			return b[i]
		}
		return 0
	}
	for i := 0; i < 3; i++ {
		v, ok2 := digits(b[p:end], 2)
		if !ok2 {
			return 0, 0, 0, 0, false, false
		}
		*vals[i] = v
		p += 2
		c := at(p)
		p++
		if i == 0 {
			hasSep = c == ':'
		}
		if p >= end {
			return h, m, s, us, c != 0, true
		}
		if hasSep && c == ':' {
			continue
		}
		if c == '.' || c == ',' {
			goto fraction
		}
		if !hasSep {
			p--
			continue
		}
		return 0, 0, 0, 0, false, false
	}
fraction:
	{
		toParse := min(end-p, 6)
		v, ok2 := digits(b[p:end], toParse)
		if !ok2 {
			return 0, 0, 0, 0, false, false
		}
		for k := toParse; k < 6; k++ {
			v *= 10
		}
		us = v
		p += toParse
		for isDigit(at(p)) {
			p++
		}
		return h, m, s, us, at(p) != 0, true
	}
}

func isoTime(b []byte) (h, m, s, us int, off int32, hasTZ, ok bool) {
	tzPos := len(b)
	for i, c := range b {
		if c == 'Z' || c == '+' || c == '-' {
			tzPos = i
			break
		}
	}
	if len(b) < 2 {
		return
	}
	var rest bool
	h, m, s, us, rest, ok = hhmmss(b, tzPos)
	if !ok {
		return
	}
	if tzPos == len(b) {
		if rest {
			ok = false
		}
		return
	}
	if b[tzPos] == 'Z' {
		if tzPos+1 != len(b) {
			ok = false
			return
		}
		return h, m, s, us, 0, true, true
	}
	sign := int32(1)
	if b[tzPos] == '-' {
		sign = -1
	}
	tb := b[tzPos+1:]
	switch len(tb) {
	case 0, 1, 3:
		ok = false
		return
	}
	th, tm, ts, tus, trest, tok := hhmmss(tb, len(tb))
	if !tok || trest {
		ok = false
		return
	}
	total := th*3600 + tm*60 + ts
	if total >= 86400 || (tus != 0 && total == 86399 && tus > 0 && false) {
		ok = false
		return
	}
	_ = tus // sub-second offsets are dropped (never seen in logs)
	return h, m, s, us, sign * int32(total), true, true
}

// strptime is a compiled Python time.strptime format.
type strptime struct {
	re     *regexp.Regexp
	groups []byte // directive letter per capture group (0 = not a directive)
}

var strptimeDirectives = map[byte]string{
	'd': `3[0-1]|[1-2][0-9]|0[1-9]|[1-9]| [1-9]`,
	'f': `[0-9]{1,6}`,
	'H': `2[0-3]|[0-1][0-9]|[0-9]`,
	'I': `1[0-2]|0[1-9]|[1-9]`,
	'j': `36[0-6]|3[0-5][0-9]|[1-2][0-9][0-9]|0[1-9][0-9]|00[1-9]|[1-9][0-9]|0[1-9]|[1-9]`,
	'm': `1[0-2]|0[1-9]|[1-9]`,
	'M': `[0-5][0-9]|[0-9]`,
	'S': `6[0-1]|[0-5][0-9]|[0-9]`,
	'U': `5[0-3]|[0-4][0-9]|[0-9]`,
	'W': `5[0-3]|[0-4][0-9]|[0-9]`,
	'w': `[0-6]`,
	'u': `[1-7]`,
	'y': `[0-9][0-9]`,
	'Y': `[0-9][0-9][0-9][0-9]`,
	'z': `[+-][0-9][0-9]:?[0-5][0-9](:?[0-5][0-9](\.[0-9]{1,6})?)?|(?-i:Z)`,
	'A': `wednesday|thursday|saturday|tuesday|monday|friday|sunday`,
	'a': `mon|tue|wed|thu|fri|sat|sun`,
	'B': `september|february|november|december|january|october|august|march|april|june|july|may`,
	'b': `jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec`,
	'p': `am|pm`,
	'Z': `utc|gmt`,
}

var (
	fullMonths = []string{"january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"}
	abbrMonths = []string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}
	fullDays   = []string{"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}
	abbrDays   = []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}
)

func compileStrptime(f string) (*strptime, error) {
	var b strings.Builder
	b.WriteString(`^(?i)`)
	st := &strptime{}
	seen := map[byte]bool{}
	for i := 0; i < len(f); i++ {
		c := f[i]
		switch {
		case c == '%':
			if i+1 >= len(f) {
				return nil, fmt.Errorf("stray %% in format %q", f)
			}
			i++
			d := f[i]
			if d == '%' {
				b.WriteString(`%`)
				continue
			}
			pat, ok := strptimeDirectives[d]
			if !ok {
				return nil, fmt.Errorf("%q is a bad directive in format %q (supported: %%a %%A %%b %%B %%d %%f %%H %%I %%j %%m %%M %%p %%S %%u %%U %%w %%W %%y %%Y %%z %%Z %%%%)", "%"+string(d), f)
			}
			if seen[d] {
				return nil, fmt.Errorf("directive %%%c used twice in format %q", d, f)
			}
			seen[d] = true
			b.WriteString(`(` + pat + `)`)
			st.groups = append(st.groups, d)
			if d == 'z' {
				st.groups = append(st.groups, 0, 0) // its two inner groups
			}
		case pystr.IsSpace(rune(c)):
			for i+1 < len(f) && pystr.IsSpace(rune(f[i+1])) {
				i++
			}
			b.WriteString(`[` + pySpace + `]+`)
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	re, err := regexp.Compile(b.String())
	if err != nil {
		return nil, fmt.Errorf("format %q: %v", f, err)
	}
	st.re = re
	return st, nil
}

func (st *strptime) parse(s []byte, tz int32) (Time, bool) {
	m := st.re.FindSubmatchIndex(s)
	if m == nil || m[1] != len(s) {
		return Time{}, false // no match / unconverted data remains
	}
	year, month, day := -1, 1, 1
	hour, minute, second, frac := 0, 0, 0, 0
	var gmtoff int32
	hasOff := false
	weekday, julian, week, weekStart := -1, -1, -1, -1
	ampm := ""
	var hourI = -1
	for gi, d := range st.groups {
		if d == 0 {
			continue
		}
		a, e := m[2*(gi+1)], m[2*(gi+1)+1]
		if a < 0 {
			continue
		}
		v := string(s[a:e])
		num := func() int { n, _ := strconv.Atoi(strings.TrimSpace(v)); return n }
		switch d {
		case 'y':
			year = num()
			if year <= 68 {
				year += 2000
			} else {
				year += 1900
			}
		case 'Y':
			year = num()
		case 'm':
			month = num()
		case 'B':
			month = index(fullMonths, strings.ToLower(v)) + 1
		case 'b':
			month = index(abbrMonths, strings.ToLower(v)) + 1
		case 'd':
			day = num()
		case 'H':
			hour = num()
		case 'I':
			hourI = num()
		case 'p':
			ampm = strings.ToLower(v)
		case 'M':
			minute = num()
		case 'S':
			second = num()
		case 'f':
			frac, _ = strconv.Atoi((v + "000000")[:6])
		case 'A':
			weekday = index(fullDays, strings.ToLower(v))
		case 'a':
			weekday = index(abbrDays, strings.ToLower(v))
		case 'w':
			weekday = num()
			if weekday == 0 {
				weekday = 6
			} else {
				weekday--
			}
		case 'u':
			weekday = num() - 1
		case 'j':
			julian = num()
		case 'U', 'W':
			week = num()
			weekStart = 6
			if d == 'W' {
				weekStart = 0
			}
		case 'z':
			hasOff = true
			if v == "Z" {
				gmtoff = 0
				break
			}
			z := v
			if z[3] == ':' {
				z = z[:3] + z[4:]
				if len(z) > 5 {
					if z[5] != ':' {
						return Time{}, false
					}
					z = z[:5] + z[6:]
				}
			}
			hh, _ := strconv.Atoi(z[1:3])
			mm, _ := strconv.Atoi(z[3:5])
			ss := 0
			if len(z) >= 7 {
				ss, _ = strconv.Atoi(z[5:7])
			}
			gmtoff = int32(hh*3600 + mm*60 + ss)
			if z[0] == '-' {
				gmtoff = -gmtoff
			}
		}
	}
	if hourI >= 0 {
		hour = hourI
		switch ampm {
		case "", "am":
			if hour == 12 {
				hour = 0
			}
		case "pm":
			if hour != 12 {
				hour += 12
			}
		}
	}
	leapFix := false
	if year < 0 {
		if month == 2 && day == 29 {
			year = 1904
			leapFix = true
		} else {
			year = 1900
		}
	}
	if julian < 0 && weekday >= 0 && week >= 0 {
		first := (int(time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC).Weekday()) + 6) % 7
		dow := weekday
		if weekStart != 0 {
			first = (first + 1) % 7
			dow = (dow + 1) % 7
		}
		if week == 0 {
			julian = 1 + dow - first
		} else {
			julian = 1 + (7-first)%7 + 7*(week-1) + dow
		}
		if julian <= 0 {
			year--
			if daysIn(year, 2) == 29 {
				julian += 366
			} else {
				julian += 365
			}
		}
	}
	if julian < 0 {
		if !validDate(year, month, day) {
			return Time{}, false
		}
	} else {
		if year < 1 || year > 9999 {
			return Time{}, false
		}
		t := time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, julian-1)
		year, month, day = t.Year(), int(t.Month()), t.Day()
	}
	if leapFix {
		year = 1900
	}
	if !validDate(year, month, day) || hour > 23 || minute > 59 || second > 59 {
		return Time{}, false
	}
	off := tz
	if hasOff {
		off = gmtoff
	}
	return mkTime(year, month, day, hour, minute, second, frac, off), true
}

func index(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

// ParseTZ parses index_tz / timestamp_tz: "+HH:MM" / "-HH:MM" or a number
// of hours ("9", "-3.5"). es-loader converts "-HH:MM" to int(-HH) + MM/60,
// which gives -3.5 for "-04:30"; here the minutes take the sign of the hours
// (-04:30 is -4.5 h), a deliberate fix.
func ParseTZ(s string) (int32, error) {
	s = pystr.Strip(s)
	if s == "" {
		return 0, nil
	}
	if h, m, ok := strings.Cut(s, ":"); ok {
		hh, err1 := strconv.Atoi(strings.TrimPrefix(h, "+"))
		mm, err2 := strconv.Atoi(m)
		if err1 != nil || err2 != nil || mm < 0 || mm > 59 {
			return 0, fmt.Errorf("time zone %q is not +HH:MM", s)
		}
		off := hh*3600 + mm*60
		if strings.HasPrefix(h, "-") {
			off = hh*3600 - mm*60
		}
		if off <= -86400 || off >= 86400 {
			return 0, fmt.Errorf("time zone %q is out of range", s)
		}
		return int32(off), nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.Abs(f) >= 24 {
		return 0, fmt.Errorf("time zone %q is neither +HH:MM nor a number of hours", s)
	}
	return int32(math.Round(f * 3600)), nil
}
