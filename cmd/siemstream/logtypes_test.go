package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/siemstream/siemstream/schemas"
)

// TestUserINIKeyDefaults: the documented defaults are the [DEFAULT] values
// a new user.ini section inherits, and every documented key is known.
func TestUserINIKeyDefaults(t *testing.T) {
	p := filepath.Join(t.TempDir(), "user.ini")
	var ini strings.Builder
	ini.WriteString("[zz-probe]\ns3_key = ^zz-probe/\nfile_format = json\nindex_name = log-probe\n")
	if err := os.WriteFile(p, []byte(ini.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	reg, err := schemas.Load(schemas.Options{UserINI: p})
	if err != nil {
		t.Fatal(err)
	}
	lt := reg.Lookup("zz-probe")
	for _, k := range userINIKeys {
		switch k.name {
		case "s3_key", "file_format", "index_name", "transform", "log_pattern", "ignore_header_line_number":
			continue
		}
		if got := lt.Raw(k.name); got != k.def {
			t.Errorf("%s: documented default %q, [DEFAULT] has %q", k.name, k.def, got)
		}
	}
	var buf bytes.Buffer
	writeLogtypes(&buf, reg)
	if n := strings.Count(buf.String(), "\n"); n != len(reg.Types())+2 {
		t.Errorf("table has %d lines for %d types", n, len(reg.Types()))
	}
	if !strings.Contains(buf.String(), "| zz-probe | `^zz-probe/` | json | `log-probe` | monthly |") {
		t.Errorf("user type row missing:\n%s", buf.String())
	}
}

// TestLogtypesListsNewTypeFile: a new schemas/types file is a new row of
// `siemstream logtypes` (and so of the README table, which
// TestReadmeTables then demands), at the position its number gives.
func TestLogtypesListsNewTypeFile(t *testing.T) {
	dir := t.TempDir()
	olds, _ := filepath.Glob("../../schemas/types/*.ini")
	if len(olds) == 0 {
		t.Skip("schemas/types not found")
	}
	for _, p := range olds {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(p)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ini := "[myapp-audit]\ns3_key = myapp/audit/\nfile_format = json\nindex_name = log-app-myapp\n"
	if err := os.WriteFile(filepath.Join(dir, "005-myapp-audit.ini"), []byte(ini), 0o644); err != nil {
		t.Fatal(err)
	}
	reg, err := schemas.Load(schemas.Options{Types: os.DirFS(dir)})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	writeLogtypes(&out, reg)
	if want := "| 1 | myapp-audit | `myapp/audit/` | json | `log-app-myapp` | monthly |\n"; !strings.Contains(out.String(), want) {
		t.Errorf("logtypes output lacks %q:\n%s", want, out.String())
	}
	if n := strings.Count(out.String(), "\n"); n != len(olds)-1+2+1 { // header, rule, old types, new type
		t.Errorf("%d lines for %d type files", n, len(olds))
	}
}
