package backfill

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/siemstream/siemstream/schemas"
)

// Detector finds an object's log type from its key; *schemas.Registry is
// one (the producer uses the same).
type Detector interface {
	Detect(key string) (lt *schemas.LogType, ignored bool)
}

// Decision is what the filter does with an entry.
type Decision int

const (
	// Load the object.
	Load Decision = iota
	// SkipFolder: the key ends in "/" (a console "folder").
	SkipFolder
	// SkipPrefix: the key is under an excluded prefix (dead letters).
	SkipPrefix
	// SkipUnknown: no log type's s3_key matches the key.
	SkipUnknown
	// SkipIgnored: the log type's s3_key_ignored matches, or the type is
	// incomplete.
	SkipIgnored
	// SkipLogType: a log type other than those asked for.
	SkipLogType
	// SkipTime: LastModified outside [Since, Until).
	SkipTime
)

var decisionNames = [...]string{"load", "folder", "excluded_prefix", "unknown_log_type", "ignored", "other_log_type", "outside_time_range"}

func (d Decision) String() string {
	if int(d) < len(decisionNames) {
		return decisionNames[d]
	}
	return "Decision(" + strconv.Itoa(int(d)) + ")"
}

// Filter selects the entries to load.
type Filter struct {
	// LogTypes are the log type names to load; empty loads every known type.
	LogTypes []string
	// Since and Until bound LastModified: Since <= t < Until. Zero leaves
	// that side open. Entries without a time (plain keys, error logs) pass.
	Since, Until time.Time
	// ExcludePrefixes are key prefixes never loaded (the producer's
	// dead-letter prefix).
	ExcludePrefixes []string
}

// Validate checks the filter against the registry's type names.
func (f Filter) Validate(known func(name string) bool) error {
	var errs []error
	for _, n := range f.LogTypes {
		if known != nil && !known(n) {
			errs = append(errs, fmt.Errorf("log type %q: no such type (see schemas/types and user.ini)", n))
		}
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
		errs = append(errs, fmt.Errorf("since %s is not before until %s", f.Since.Format(time.RFC3339), f.Until.Format(time.RFC3339)))
	}
	return errors.Join(errs...)
}

// Decide says whether to load e and, when its type is known, which type.
func (f Filter) Decide(d Detector, e Entry) (Decision, *schemas.LogType) {
	if strings.HasSuffix(e.Key, "/") {
		return SkipFolder, nil
	}
	for _, p := range f.ExcludePrefixes {
		if p != "" && strings.HasPrefix(e.Key, p) {
			return SkipPrefix, nil
		}
	}
	lt, ignored := d.Detect(e.Key)
	if lt == nil {
		return SkipUnknown, nil
	}
	if ignored {
		return SkipIgnored, lt
	}
	if len(f.LogTypes) > 0 {
		found := false
		for _, n := range f.LogTypes {
			if n == lt.Name {
				found = true
				break
			}
		}
		if !found {
			return SkipLogType, lt
		}
	}
	if !e.LastModified.IsZero() {
		if !f.Since.IsZero() && e.LastModified.Before(f.Since) {
			return SkipTime, lt
		}
		if !f.Until.IsZero() && !e.LastModified.Before(f.Until) {
			return SkipTime, lt
		}
	}
	return Load, lt
}

// ParseTime reads a --since/--until value: RFC 3339 ("2025-03-14T12:00:00Z",
// "2025-03-14T21:00:00+09:00"), a date or date-time without zone (UTC:
// "2025-03-14", "2025-03-14 12:00:00", "2025-03-14T12:00"), or an age
// relative to now ("36h", "90m", "7d").
func ParseTime(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	for _, layout := range []string{time.DateOnly, time.DateTime, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04"} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t, nil
		}
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.Atoi(days); err == nil && n >= 0 {
			return now.Add(-time.Duration(n) * 24 * time.Hour), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("time %q: want RFC 3339, YYYY-MM-DD[ HH:MM[:SS]] (UTC), or an age like 36h or 7d", s)
}
