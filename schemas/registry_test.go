package schemas

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadBuiltin(t *testing.T) {
	r, err := Load(Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkTypes(t, builtinTypes(), r)
	vpc := r.Lookup("vpcflowlogs")
	if vpc.FileFormat != FormatCSV || vpc.IndexName != "log-aws-vpcflowlogs" || vpc.TimestampFormat.Kind != TimeEpoch ||
		vpc.TimestampKeys[0] != "end" || vpc.Transform == nil || vpc.IndexRotation != RotateMonthly {
		t.Errorf("vpcflowlogs: %+v", vpc)
	}
	var rel *ECSField
	for i := range vpc.ECS {
		if vpc.ECS[i].Target == "related.ip" {
			rel = &vpc.ECS[i]
		}
		if vpc.ECS[i].Target == "source.address" && vpc.ECS[i].Alternatives[0].String() != "srcaddr" {
			t.Errorf("interpolation: %v", vpc.ECS[i].Alternatives)
		}
	}
	if rel == nil || !rel.List || len(rel.Groups) != 4 || !rel.ValidateIP {
		t.Errorf("related.ip: %+v", rel)
	}
	if s := vpc.StaticECS; len(s) != 2 || s[1].Target != "event.category" || !s[1].IsList || s[1].Values[0] != "network" {
		t.Errorf("static: %+v", s)
	}
	ct := r.Lookup("cloudtrail")
	if ct.DocID != "eventID" || ct.JSONDelimiter != "Records" || ct.MaxLogCount != 50000 || len(ct.JSONToText) != 34 {
		t.Errorf("cloudtrail: doc_id %q delim %q max %d j2t %d", ct.DocID, ct.JSONDelimiter, ct.MaxLogCount, len(ct.JSONToText))
	}
}

func TestDetect(t *testing.T) {
	r, err := Load(Options{})
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{
		"AWSLogs/123456789012/vpcflowlogs/us-east-1/2025/03/14/123456789012_vpcflowlogs_us-east-1_fl-0abc_20250314T1200Z_1a2b3c4d.log.gz":                             "vpcflowlogs",
		"AWSLogs/123456789012/CloudTrail/us-east-1/2025/03/14/123456789012_CloudTrail_us-east-1_20250314T1200Z_AbCdEf.json.gz":                                        "cloudtrail",
		"AWSLogs/123456789012/elasticloadbalancing/us-east-1/2025/03/14/123456789012_elasticloadbalancing_us-east-1_app.web.0123_20250314T1200Z_10.0.1.5_2abc.log.gz": "alb",
		"AWSLogs/123456789012/elasticloadbalancing/us-east-1/2025/03/14/123456789012_elasticloadbalancing_us-east-1_net.nlb.0123_20250314T1200Z_1a2b3c4d.log.gz":      "nlb",
		"AWSLogs/123456789012/elasticloadbalancing/us-east-1/2025/03/14/123456789012_elasticloadbalancing_us-east-1_my-clb_20250314T1200Z_10.0.1.5_2abc.log":          "clb",
		"AWSLogs/123456789012/Other/x.log": "",
		"AWSLogs/123456789012/CloudTrail/": "",
	} {
		lt, ign := r.Detect(key)
		got := ""
		if lt != nil {
			got = lt.Name
		}
		if got != want || ign {
			t.Errorf("%s: got %q ignored=%v, want %q", key, got, ign, want)
		}
	}
}

func TestUserINI(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "user.ini")
	os.WriteFile(p, []byte(`
[vpcflowlogs]
index_rotation = daily
s3_key_ignored = _ignored_
index_tz = +09:00
Mystery = 1

[custom-json]
s3_key = ^custom/.*\.json$$
file_format = json
index_name = log-custom
timestamp_key = ts
timestamp_format = %d/%b/%Y:%H:%M:%S %z
ecs = source.ip related.ip
source.ip = client.addr
related.ip = client.addr peer
`), 0o644)
	r, err := Load(Options{UserINI: p})
	if err != nil {
		t.Fatal(err)
	}
	vpc := r.Lookup("vpcflowlogs")
	if vpc.IndexRotation != RotateDaily || vpc.IndexTZ != 9*3600 || vpc.Order != 2 {
		t.Errorf("override: %+v", vpc)
	}
	if lt, ign := r.Detect("x/vpcflowlogs/_ignored_/a.log.gz"); lt != vpc || !ign {
		t.Errorf("ignored: %v %v", lt, ign)
	}
	c := r.Lookup("custom-json")
	if c == nil || c.Order != len(r.Types())-1 || c.TimestampFormats[0].Kind != TimeStrptime {
		t.Fatalf("custom: %+v", c)
	}
	if lt, _ := r.Detect("custom/a.json"); lt != c {
		t.Errorf("detect custom: %v", lt)
	}
	if f := c.ECS[1]; !f.List || len(f.Groups) != 2 {
		t.Errorf("whitespace list: %+v", f)
	}
	if w := strings.Join(r.Warnings(), "\n"); !strings.Contains(w, `"Mystery"`) {
		t.Errorf("warnings: %s", w)
	}
}

func TestLoadErrors(t *testing.T) {
	base, _ := builtinFS.ReadFile("types/000-defaults.ini")
	for name, text := range map[string]string{
		"lookahead":     "[x]\ns3_key = foo(?=bar)\nfile_format = json\nindex_name = i\n",
		"missing ecs":   "[x]\ns3_key = x\nfile_format = json\nindex_name = i\necs = a.b\n",
		"bad interp":    "[x]\ns3_key = x$\nfile_format = json\nindex_name = i\n",
		"missing ref":   "[x]\ns3_key = ${nope}\nfile_format = json\nindex_name = i\n",
		"bad bool":      "[x]\ns3_key = x\nfile_format = json\nindex_name = i\nvia_cwl = maybe\n",
		"bad format":    "[x]\ns3_key = x\nfile_format = yaml\nindex_name = i\n",
		"bad strptime":  "[x]\ns3_key = x\nfile_format = json\nindex_name = i\ntimestamp_format = %Q\n",
		"dup option":    "[x]\na = 1\na = 2\n",
		"no section":    "a = 1\n",
		"text no regex": "[x]\ns3_key = x\nfile_format = text\nindex_name = i\n",
		"bad tz":        "[x]\ns3_key = x\nfile_format = json\nindex_name = i\nindex_tz = JST\n",
	} {
		_, err := loadText(string(base), text)
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		if name == "lookahead" && !strings.Contains(err.Error(), "look-ahead") {
			t.Errorf("lookahead hint missing: %v", err)
		}
		if name != "dup option" && name != "no section" && !strings.Contains(err.Error(), "[x]") {
			t.Errorf("%s: error does not name the section: %v", name, err)
		}
	}
}

func TestINISemantics(t *testing.T) {
	c := newINI()
	err := c.read("t", `[DEFAULT]
base = /root
[s]
multi = one
    two

    three
# comment ends nothing
    four
other: ${base}/x $$HOME ${t:k}
Case = upper
case = lower
[t]
k = ${base}-t
`)
	if err != nil {
		t.Fatal(err)
	}
	s := c.byName["s"]
	if v, _ := c.get(s, "multi", nil); v != "one\ntwo\n\nthree\nfour" {
		t.Errorf("multi = %q", v)
	}
	if v, err := c.get(s, "other", nil); v != "/root/x $HOME /root-t" {
		t.Errorf("other = %q %v", v, err)
	}
	if v, _ := c.get(s, "Case", nil); v != "upper" {
		t.Errorf("case-sensitive keys: %q", v)
	}
}

func FuzzParseINI(f *testing.F) {
	for _, n := range []string{"types/000-defaults.ini", "types/030-vpcflowlogs.ini"} {
		b, _ := builtinFS.ReadFile(n)
		f.Add(string(b))
	}
	f.Add("[a]\nx = ${y}\ny = ${x}\n")
	f.Add("[a]\nx = $$${a:x}\n  cont\n\n")
	f.Add("[x]\ns3_key = ^x/\nfile_format = text\nindex_name = i\nlog_pattern = (?P<a>\\w+) (?P<b>\\d+)\necs = source.ip\nsource.ip = a\n")
	f.Fuzz(func(t *testing.T, text string) {
		c := newINI()
		if err := c.read("fuzz", text); err != nil {
			return
		}
		for _, s := range append([]*iniSection{c.defaults}, c.sections...) {
			for _, k := range c.keys(s) {
				_, _ = c.get(s, k, map[string]bool{})
			}
		}
		if len(text) < 256 { // typing a section compiles its regexps: keep it cheap
			base, _ := builtinFS.ReadFile("types/000-defaults.ini")
			_, _ = loadText(string(base), text)
		}
	})
}
