package normalize

import (
	"strconv"

	"github.com/siemstream/siemstream/schemas"
)

type indexKey struct {
	lt     *schemas.LogType
	base   string
	period int64
}

// indexName follows LogParser.indexname.
func (sc *scratch) indexName(lt *schemas.LogType, tc *schemas.TransformContext, ts schemas.Time) string {
	base := lt.IndexName
	if tc.IndexName != "" {
		base = tc.IndexName
	}
	switch lt.IndexRotation {
	case schemas.RotateAOSS:
		if lt.IndexSuffix != "" {
			return sc.intern(lt, base, -1, func(b []byte) []byte { return append(append(append(b, base...), '-'), lt.IndexSuffix...) })
		}
		return sc.intern(lt, base, -2, func(b []byte) []byte { return append(append(b, base...), "-001"...) })
	case schemas.RotateAuto:
		return base
	}
	t := ts
	switch {
	case lt.IndexTimeIngested:
		t = sc.nowT
	case tc.HasIndexTime:
		t = tc.IndexTime
	}
	t = t.In(lt.IndexTZ)
	y, m, dd, _, _, _ := t.Civil()
	var period int64
	switch lt.IndexRotation {
	case schemas.RotateDaily:
		period = int64(y)*10000 + int64(m)*100 + int64(dd)
	case schemas.RotateWeekly:
		period = int64(y)*100 + int64(weekW(t))
	case schemas.RotateMonthly:
		period = int64(y)*100 + int64(m)
	default:
		period = int64(y)
	}
	return sc.intern(lt, base, period, func(b []byte) []byte {
		b = append(b, base...)
		if lt.IndexSuffix != "" {
			b = append(append(b, '-'), lt.IndexSuffix...)
		}
		b = append(b, '-')
		b = appendPad(b, y, 4)
		switch lt.IndexRotation {
		case schemas.RotateDaily:
			b = append(b, '-')
			b = appendPad(b, int(m), 2)
			b = append(b, '-')
			b = appendPad(b, dd, 2)
		case schemas.RotateWeekly:
			b = append(b, '-', 'w')
			b = appendPad(b, weekW(t), 2)
		case schemas.RotateMonthly:
			b = append(b, '-')
			b = appendPad(b, int(m), 2)
		}
		return b
	})
}

// weekW is strftime %W: week of the year, Monday first, days before the
// first Monday in week 0.
func weekW(t schemas.Time) int {
	yday := t.YearDay() - 1
	wd := (int(t.Weekday()) + 6) % 7 // Monday = 0
	return (yday + 7 - wd) / 7
}

func appendPad(b []byte, v, width int) []byte {
	s := strconv.Itoa(v)
	for i := len(s); i < width; i++ {
		b = append(b, '0')
	}
	return append(b, s...)
}

// intern returns a cached index name string for (lt, base, period).
func (sc *scratch) intern(lt *schemas.LogType, base string, period int64, build func([]byte) []byte) string {
	k := indexKey{lt, base, period}
	for i := range sc.idxKeys {
		if sc.idxKeys[i] == k && sc.idxVals[i] != "" {
			return sc.idxVals[i]
		}
	}
	sc.buf = build(sc.buf[:0])
	v := string(sc.buf)
	sc.idxKeys[sc.idxNext] = k
	sc.idxVals[sc.idxNext] = v
	sc.idxNext = (sc.idxNext + 1) % len(sc.idxKeys)
	return v
}
