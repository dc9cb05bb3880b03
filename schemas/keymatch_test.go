package schemas

import (
	"os"
	"path/filepath"
	"testing"
)

func TestKeyMatcherNegativeLookahead(t *testing.T) {
	// The pattern es-loader's documentation gives for "load only these accounts".
	m, err := compileKey("vpcflowlogs", "s3_key_ignored", `^(?!.*(111111111111|222222222222)).*`)
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]bool{
		"AWSLogs/000000000000/vpcflowlogs/x.log.gz": true,  // other account: ignored
		"AWSLogs/111111111111/vpcflowlogs/x.log.gz": false, // listed: loaded
		"AWSLogs/222222222222/vpcflowlogs/x.log.gz": false,
	} {
		if got := m.MatchString(key); got != want {
			t.Errorf("%s: ignored=%v, want %v", key, got, want)
		}
	}
	if _, err := compileKey("x", "s3_key", `foo(?=bar)`); err == nil {
		t.Error("a look-ahead elsewhere must still be refused")
	}
	if m, err := compileKey("x", "s3_key", `vpcflowlogs`); err != nil || !m.MatchString("a/vpcflowlogs/b") || m.String() != "vpcflowlogs" {
		t.Errorf("plain pattern: %v", err)
	}
}

func TestUserININegativeIgnored(t *testing.T) {
	reg := loadUserINI(t, "[vpcflowlogs]\ns3_key_ignored = ^(?!.*(111111111111|222222222222)).*\n")
	if lt, ignored := reg.Detect("AWSLogs/000000000000/vpcflowlogs/us-east-1/x.log.gz"); lt == nil || !ignored {
		t.Errorf("account 000000000000 must be ignored")
	}
	if lt, ignored := reg.Detect("AWSLogs/111111111111/vpcflowlogs/us-east-1/x.log.gz"); lt == nil || ignored {
		t.Errorf("account 111111111111 must be loaded")
	}
}

func loadUserINI(t *testing.T, ini string) *Registry {
	t.Helper()
	p := filepath.Join(t.TempDir(), "user.ini")
	if err := os.WriteFile(p, []byte(ini), 0o644); err != nil {
		t.Fatal(err)
	}
	reg, err := Load(Options{UserINI: p})
	if err != nil {
		t.Fatal(err)
	}
	return reg
}
