package deadletter

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Filter selects dead letters; zero fields select everything.
type Filter struct {
	// Since keeps records refused at or after this time.
	Since   time.Time
	Stage   string
	LogType string
}

// Match reports whether r passes the filter.
func (f Filter) Match(r *Record) bool {
	return (f.Since.IsZero() || !r.Time.Before(f.Since)) &&
		(f.Stage == "" || r.Stage == f.Stage) &&
		(f.LogType == "" || r.LogType == f.LogType)
}

// ParseSince reads an RFC 3339 time, a date (2025-03-14) or a duration back
// from now (90m, 36h, 7d).
func ParseSince(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	if d, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.Atoi(d); err == nil && n >= 0 {
			return now.Add(-time.Duration(n) * 24 * time.Hour), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("--since %q: want an RFC 3339 time, a date (2006-01-02) or a duration (90m, 36h, 7d)", s)
}
