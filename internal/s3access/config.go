// Package s3access decides, per bucket, which credentials read it: the
// process's own, or those of an IAM role assumed through STS (a Control
// Tower log-archive account, an Amazon Security Lake subscriber role with
// its external ID). Sources are listed in a JSON document (--sources /
// SIEM_SOURCES); es-loader's CONTROL_TOWER_* and SECURITY_LAKE_*
// environment variables are read as a compatibility layer after them.
//
// Router is an S3 client that sends each call to the client of the call's
// bucket, so the producer, backfill and redrive need no other change: one
// credentials cache and one S3 client per role, credentials refreshed before
// they expire, and a bucket whose role cannot be assumed fails only its own
// calls, with an error naming the bucket and the role.
package s3access

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"regexp"
	"strings"
	"time"
)

// SecurityLakePrefix starts the name of every Security Lake bucket; es-loader
// reads such buckets with the Security Lake role.
const SecurityLakePrefix = "aws-security-data-lake-"

// Source says how to read the buckets matching Bucket.
type Source struct {
	// Bucket is a bucket name or a path.Match pattern ("aws-security-data-lake-*").
	Bucket string `json:"bucket"`
	// RoleARN is the role to assume before reading; "" means the process's
	// own credentials.
	RoleARN string `json:"role_arn,omitempty"`
	// ExternalID is passed to AssumeRole (Security Lake subscriber roles
	// require one).
	ExternalID string `json:"external_id,omitempty"`
	// SessionName is the role session name (default Config.SessionName).
	SessionName string `json:"session_name,omitempty"`
	// DurationSeconds is the session duration asked of STS (default
	// Config.Duration). AWS accepts 900..43200 (up to the role's maximum).
	DurationSeconds int `json:"duration_seconds,omitempty"`

	// refuse, when set, fails every object of the matching buckets with
	// this reason: es-loader's behaviour for a Control Tower or Security
	// Lake bucket whose role settings are incomplete.
	refuse string
	// origin says where the source came from, for errors and logs.
	origin string
}

// Config is the list of sources, first match wins.
type Config struct {
	Sources []Source `json:"sources"`
	// SessionName is the default role session name (default "siemstream").
	SessionName string `json:"session_name,omitempty"`
	// Duration is the default session duration (default 1h, as es-loader).
	Duration time.Duration `json:"-"`
	// ExpiryWindow is how long before expiry credentials are refreshed
	// (default 5m, at most a quarter of the session duration).
	ExpiryWindow time.Duration `json:"-"`
}

// Defaults.
const (
	DefaultSessionName  = "siemstream"
	DefaultDuration     = time.Hour
	DefaultExpiryWindow = 5 * time.Minute
)

// ApplyDefaults fills zero fields.
func (c *Config) ApplyDefaults() {
	if c.SessionName == "" {
		c.SessionName = DefaultSessionName
	}
	if c.Duration == 0 {
		c.Duration = DefaultDuration
	}
	if c.ExpiryWindow == 0 {
		c.ExpiryWindow = DefaultExpiryWindow
	}
}

var (
	roleARN = regexp.MustCompile(`^arn:aws[a-z-]*:iam::(\d{12}):role/[\w+=,.@/-]+$`)
	// sessionName is STS's RoleSessionName syntax.
	sessionName = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)
	externalID  = regexp.MustCompile(`^[\w+=,.@:/-]+$`)
)

// Validate checks every source (after defaults).
func (c Config) Validate() error {
	var errs []error
	if !sessionName.MatchString(c.SessionName) {
		errs = append(errs, fmt.Errorf("session_name %q: 2..64 characters of letters, digits and +=,.@_-", c.SessionName))
	}
	if c.Duration < time.Second || c.Duration > 12*time.Hour {
		errs = append(errs, fmt.Errorf("duration %s: must be 1s..12h", c.Duration))
	}
	if c.ExpiryWindow < 0 {
		errs = append(errs, fmt.Errorf("expiry window %s: must be >= 0", c.ExpiryWindow))
	}
	for i, s := range c.Sources {
		where := fmt.Sprintf("sources[%d] (%s)", i, s.origin)
		if s.origin == "" {
			where = fmt.Sprintf("sources[%d]", i)
		}
		if s.Bucket == "" {
			errs = append(errs, fmt.Errorf("%s: bucket is required", where))
		} else if _, err := path.Match(s.Bucket, ""); err != nil {
			errs = append(errs, fmt.Errorf("%s: bucket pattern %q: %w", where, s.Bucket, err))
		}
		if s.RoleARN == "" {
			if s.ExternalID != "" || s.SessionName != "" || s.DurationSeconds != 0 {
				errs = append(errs, fmt.Errorf("%s: external_id, session_name and duration_seconds need a role_arn", where))
			}
			continue
		}
		if !roleARN.MatchString(s.RoleARN) {
			errs = append(errs, fmt.Errorf("%s: role_arn %q is not arn:aws:iam::<account>:role/<name>", where, s.RoleARN))
		}
		if s.SessionName != "" && !sessionName.MatchString(s.SessionName) {
			errs = append(errs, fmt.Errorf("%s: session_name %q: 2..64 characters of letters, digits and +=,.@_-", where, s.SessionName))
		}
		// The external ID is a secret-ish value: its syntax is checked,
		// it is never printed.
		if s.ExternalID != "" && (len(s.ExternalID) < 2 || len(s.ExternalID) > 1224 || !externalID.MatchString(s.ExternalID)) {
			errs = append(errs, fmt.Errorf("%s: external_id: 2..1224 characters of letters, digits and +=,.@:/-", where))
		}
		if s.DurationSeconds < 0 || s.DurationSeconds > 43200 {
			errs = append(errs, fmt.Errorf("%s: duration_seconds %d: must be 1..43200", where, s.DurationSeconds))
		}
	}
	return errors.Join(errs...)
}

// Match returns the first source whose Bucket matches bucket.
func (c Config) Match(bucket string) (Source, bool) {
	for _, s := range c.Sources {
		if s.Bucket == bucket {
			return s, true
		}
		if ok, _ := path.Match(s.Bucket, bucket); ok {
			return s, true
		}
	}
	return Source{}, false
}

// Account is the AWS account of the source's role ("" without a role).
func (s Source) Account() string {
	if m := roleARN.FindStringSubmatch(s.RoleARN); m != nil {
		return m[1]
	}
	return ""
}

// Parse reads a sources document: {"session_name": …, "sources": [{"bucket":
// …, "role_arn": …, "external_id": …, "session_name": …, "duration_seconds":
// …}]} or just the array. Unknown fields are errors (a misspelt role_arn
// would otherwise silently read with the wrong credentials).
func Parse(data []byte, origin string) (Config, error) {
	var c Config
	trimmed := strings.TrimSpace(string(data))
	dec := json.NewDecoder(strings.NewReader(trimmed))
	dec.DisallowUnknownFields()
	var err error
	if strings.HasPrefix(trimmed, "[") {
		err = dec.Decode(&c.Sources)
	} else {
		err = dec.Decode(&c)
	}
	if err != nil {
		return Config{}, fmt.Errorf("sources %s: %w", origin, err)
	}
	for i := range c.Sources {
		c.Sources[i].origin = origin
	}
	return c, nil
}

// Load reads the sources setting: inline JSON (a value starting with '{' or
// '[') or a file path; "" is no sources.
func Load(setting string) (Config, error) {
	s := strings.TrimSpace(setting)
	switch {
	case s == "":
		return Config{}, nil
	case strings.HasPrefix(s, "{"), strings.HasPrefix(s, "["):
		return Parse([]byte(s), "inline JSON")
	}
	data, err := os.ReadFile(s)
	if err != nil {
		return Config{}, fmt.Errorf("sources: %w", err)
	}
	return Parse(data, s)
}

// AddEnv appends es-loader's settings read through getenv, with its exact
// semantics: CONTROL_TOWER_LOG_BUCKETS (names separated by commas or
// spaces) are read with CONTROL_TOWER_ROLE_ARN as
// CONTROL_TOWER_ROLE_SESSION_NAME, and every bucket whose name starts
// "aws-security-data-lake-" with SECURITY_LAKE_ROLE_ARN,
// SECURITY_LAKE_EXTERNAL_ID and SECURITY_LAKE_ROLE_SESSION_NAME. As in
// es-loader, a role is used only when both its ARN and session name are
// set; otherwise objects of those buckets fail (they are not read with the
// process's own credentials). Sources given explicitly come first, so they
// override these (e.g. a Security Lake bucket in the same account:
// {"bucket": "aws-security-data-lake-*"} with no role).
// SECURITY_LAKE_LOG_BUCKETS is read by es-loader but unused; so here.
func (c *Config) AddEnv(getenv func(string) string) {
	ctBuckets := strings.Fields(strings.ReplaceAll(getenv("CONTROL_TOWER_LOG_BUCKETS"), ",", " "))
	ctRole, ctSession := getenv("CONTROL_TOWER_ROLE_ARN"), getenv("CONTROL_TOWER_ROLE_SESSION_NAME")
	for _, b := range ctBuckets {
		s := Source{Bucket: b, origin: "CONTROL_TOWER_LOG_BUCKETS"}
		if ctRole != "" && ctSession != "" {
			s.RoleARN, s.SessionName = ctRole, ctSession
		} else {
			s.refuse = "Control Tower log bucket (CONTROL_TOWER_LOG_BUCKETS) but CONTROL_TOWER_ROLE_ARN and CONTROL_TOWER_ROLE_SESSION_NAME are not both set"
		}
		c.Sources = append(c.Sources, s)
	}
	slRole, slSession, slExt := getenv("SECURITY_LAKE_ROLE_ARN"), getenv("SECURITY_LAKE_ROLE_SESSION_NAME"), getenv("SECURITY_LAKE_EXTERNAL_ID")
	s := Source{Bucket: SecurityLakePrefix + "*", origin: "SECURITY_LAKE_*"}
	if slRole != "" && slSession != "" {
		s.RoleARN, s.SessionName, s.ExternalID = slRole, slSession, slExt
	} else {
		s.refuse = "Security Lake bucket but SECURITY_LAKE_ROLE_ARN and SECURITY_LAKE_ROLE_SESSION_NAME are not both set (or list the bucket in --sources without a role to read it with the process's own credentials)"
	}
	c.Sources = append(c.Sources, s)
}
