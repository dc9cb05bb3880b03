package s3access

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestAddEnvEsLoaderSemantics(t *testing.T) {
	const ct = "arn:aws:iam::111122223333:role/ct-reader"
	const sl = "arn:aws:iam::444455556666:role/AmazonSecurityLake-sub"
	cases := []struct {
		name   string
		env    map[string]string
		bucket string
		role   string
		ext    string
		refuse string // substring; "" = not refused
		found  bool
	}{
		{"ct bucket with role", map[string]string{"CONTROL_TOWER_LOG_BUCKETS": "aws-controltower-logs-111122223333-us-east-1, other", "CONTROL_TOWER_ROLE_ARN": ct, "CONTROL_TOWER_ROLE_SESSION_NAME": "ct_es_loader"},
			"aws-controltower-logs-111122223333-us-east-1", ct, "", "", true},
		{"ct list split on spaces and commas", map[string]string{"CONTROL_TOWER_LOG_BUCKETS": "a-bucket,b-bucket  c-bucket", "CONTROL_TOWER_ROLE_ARN": ct, "CONTROL_TOWER_ROLE_SESSION_NAME": "s1"},
			"c-bucket", ct, "", "", true},
		{"ct bucket without session name fails", map[string]string{"CONTROL_TOWER_LOG_BUCKETS": "ct-logs", "CONTROL_TOWER_ROLE_ARN": ct},
			"ct-logs", "", "", "CONTROL_TOWER_ROLE_SESSION_NAME", true},
		{"bucket not listed uses own credentials", map[string]string{"CONTROL_TOWER_LOG_BUCKETS": "ct-logs", "CONTROL_TOWER_ROLE_ARN": ct, "CONTROL_TOWER_ROLE_SESSION_NAME": "s1"},
			"siem-logs", "", "", "", false},
		{"security lake prefix", map[string]string{"SECURITY_LAKE_ROLE_ARN": sl, "SECURITY_LAKE_ROLE_SESSION_NAME": "sl", "SECURITY_LAKE_EXTERNAL_ID": "ext-123"},
			"aws-security-data-lake-us-east-1-abcdef", sl, "ext-123", "", true},
		{"security lake without role fails like es-loader", map[string]string{},
			"aws-security-data-lake-us-east-1-abcdef", "", "", "SECURITY_LAKE_ROLE_ARN", true},
		{"SECURITY_LAKE_LOG_BUCKETS is unused as in es-loader", map[string]string{"SECURITY_LAKE_LOG_BUCKETS": "my-lake", "SECURITY_LAKE_ROLE_ARN": sl, "SECURITY_LAKE_ROLE_SESSION_NAME": "sl"},
			"my-lake", "", "", "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var cfg Config
			cfg.AddEnv(env(c.env))
			cfg.ApplyDefaults()
			if err := cfg.Validate(); err != nil {
				t.Fatal(err)
			}
			s, ok := cfg.Match(c.bucket)
			if ok != c.found || s.RoleARN != c.role || s.ExternalID != c.ext {
				t.Fatalf("Match(%q) = %+v, %v", c.bucket, s, ok)
			}
			if (c.refuse == "") != (s.refuse == "") || !strings.Contains(s.refuse, c.refuse) {
				t.Fatalf("refuse = %q, want %q", s.refuse, c.refuse)
			}
		})
	}
}

func TestExplicitSourcesComeFirst(t *testing.T) {
	cfg, err := Load(`{"sources":[{"bucket":"aws-security-data-lake-us-east-1-own"},{"bucket":"archive-*","role_arn":"arn:aws:iam::111122223333:role/r","duration_seconds":900}]}`)
	if err != nil {
		t.Fatal(err)
	}
	cfg.AddEnv(env(nil))
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if s, _ := cfg.Match("aws-security-data-lake-us-east-1-own"); s.refuse != "" || s.RoleARN != "" {
		t.Fatalf("explicit source without role must win: %+v", s)
	}
	if s, _ := cfg.Match("aws-security-data-lake-us-east-1-other"); s.refuse == "" {
		t.Fatalf("other lake buckets keep es-loader's default: %+v", s)
	}
	if s, _ := cfg.Match("archive-2026"); s.Account() != "111122223333" {
		t.Fatalf("pattern: %+v", s)
	}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		doc, want string
	}{
		{`[{"bucket":"b","role_arn":"arn:aws:iam::12:role/x"}]`, "is not arn:aws:iam"},
		{`[{"bucket":"","role_arn":"arn:aws:iam::111122223333:role/x"}]`, "bucket is required"},
		{`[{"bucket":"b[","role_arn":"arn:aws:iam::111122223333:role/x"}]`, "bucket pattern"},
		{`[{"bucket":"b","external_id":"abc"}]`, "need a role_arn"},
		{`[{"bucket":"b","role_arn":"arn:aws:iam::111122223333:role/x","session_name":"has space"}]`, "session_name"},
		{`[{"bucket":"b","role_arn":"arn:aws:iam::111122223333:role/x","duration_seconds":50000}]`, "duration_seconds"},
		{`[{"bucket":"b","role_arn":"arn:aws:iam::111122223333:role/x","external_id":"bad id secret!"}]`, "external_id: 2..1224"},
	}
	for _, c := range cases {
		cfg, err := Parse([]byte(c.doc), "test")
		if err != nil {
			t.Fatal(err)
		}
		cfg.ApplyDefaults()
		err = cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %q", c.doc, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "secret!") {
			t.Errorf("external id printed: %v", err)
		}
	}
	if _, err := Parse([]byte(`[{"bucket":"b","rolearn":"x"}]`), "test"); err == nil || !strings.Contains(err.Error(), "rolearn") {
		t.Errorf("unknown field: %v", err)
	}
	if _, err := Load("/nonexistent/sources.json"); err == nil {
		t.Error("missing file accepted")
	}
	file := filepath.Join(t.TempDir(), "sources.json")
	if err := os.WriteFile(file, []byte(`{"session_name":"fleet","sources":[{"bucket":"ct-*","role_arn":"arn:aws:iam::111122223333:role/r"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if cfg, err := Load(file); err != nil || cfg.SessionName != "fleet" || len(cfg.Sources) != 1 || cfg.Sources[0].origin != file {
		t.Errorf("Load(file) = %+v, %v", cfg, err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"sources":[{"bucket":"a*","role_arn":"arn:aws:iam::111122223333:role/r"}]}`))
	f.Add([]byte(`[{"bucket":"[","external_id":"x"}]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		cfg, err := Parse(b, "fuzz")
		if err != nil {
			return
		}
		cfg.ApplyDefaults()
		if cfg.Validate() == nil {
			cfg.Match("bucket")
		}
	})
}
