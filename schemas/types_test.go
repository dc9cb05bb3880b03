package schemas

import (
	"bufio"
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The built-in log types are the files in types/: this file derives every
// list of type names the tests need from them, so adding a type is adding
// its file (TestNewTypeFileIsEnough proves it).

var (
	typeFileRe = regexp.MustCompile(`^([0-9]{3})-([a-z0-9-]+)\.ini$`)
	sectionRe  = regexp.MustCompile(`(?m)^\[([^\]]+)\]`)
)

// typeFile is one built-in type: NNN-<name>.ini holding the section [name].
type typeFile struct{ file, name string }

// typeFiles lists the type files of fsys in name order (detection order),
// without 000-defaults.ini, and checks the layout rule: NNN-<name>.ini with
// a unique NNN holds exactly the section [name] (the defaults file exactly
// [DEFAULT]).
func typeFiles(t *testing.T, fsys fs.FS) []typeFile {
	t.Helper()
	names, err := fs.Glob(fsys, "*.ini")
	if err != nil || len(names) == 0 {
		t.Fatalf("no type files: %v", err)
	}
	slices.Sort(names)
	var out []typeFile
	nums := map[string]string{}
	for _, n := range names {
		m := typeFileRe.FindStringSubmatch(n)
		if m == nil {
			t.Errorf("%s: a type file is named NNN-<type>.ini", n)
			continue
		}
		if prev, dup := nums[m[1]]; dup {
			t.Errorf("%s and %s: same position %s", prev, n, m[1])
		}
		nums[m[1]] = n
		b, err := fs.ReadFile(fsys, n)
		if err != nil {
			t.Fatal(err)
		}
		var sections []string
		for _, s := range sectionRe.FindAllSubmatch(b, -1) {
			sections = append(sections, string(s[1]))
		}
		want := m[2]
		if n == "000-defaults.ini" {
			want = "DEFAULT"
		}
		if len(sections) != 1 || sections[0] != want {
			t.Errorf("%s: sections %q, want exactly [%s]", n, sections, want)
		}
		if want != "DEFAULT" {
			out = append(out, typeFile{n, want})
		}
	}
	return out
}

// checkTypes runs the checks every built-in type passes: the registry
// holds the types of the files, in file order, and loading them warns of
// nothing (no unknown key, no script_ecs without its Go transform, no
// incomplete type); every type is complete and detects a key made of its
// own s3_key's literal text when that text is plain.
func checkTypes(t *testing.T, fsys fs.FS, r *Registry) {
	t.Helper()
	for _, w := range r.Warnings() {
		t.Errorf("warning: %s", w)
	}
	var want, got []string
	for _, f := range typeFiles(t, fsys) {
		want = append(want, f.name)
	}
	for _, lt := range r.Types() {
		got = append(got, lt.Name)
		if lt.Problem != "" {
			t.Errorf("%s: %s", lt.Name, lt.Problem)
		}
		if lt.Raw("script_ecs") != "" && lt.Transform == nil {
			t.Errorf("%s: script_ecs without a Go transform", lt.Name)
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("types %v, want (from the files) %v", got, want)
	}
}

// builtinTypes is the on-disk types directory the binary embeds.
func builtinTypes() fs.FS { return os.DirFS("types") }

// TestNewTypeFileIsEnough: a new file in types/ is a new log type with no
// other edit. The built-in files plus one new type load (from a copy of
// types/ through Options.Types), the new type detects its keys and passes
// the checks every built-in type passes (including taking the detection
// position its number gives).
func TestNewTypeFileIsEnough(t *testing.T) {
	dir := t.TempDir()
	src := builtinTypes()
	names, _ := fs.Glob(src, "*.ini")
	for _, n := range names {
		b, err := fs.ReadFile(src, n)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, n), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	newType := `# A made-up JSON application log.

[myapp-audit]
s3_key = myapp/audit/
file_format = json
index_name = log-app-myapp
timestamp_key = time
timestamp_format = iso8601

ecs = source.ip user.name
source.ip = client
user.name = user

static_ecs = event.kind
event.kind = event
`
	if err := os.WriteFile(filepath.Join(dir, "415-myapp-audit.ini"), []byte(newType), 0o644); err != nil {
		t.Fatal(err)
	}
	fsys := os.DirFS(dir)
	r, err := Load(Options{Types: fsys})
	if err != nil {
		t.Fatal(err)
	}
	checkTypes(t, fsys, r)
	lt, ignored := r.Detect("myapp/audit/2025/03/14/a.json.gz")
	if lt == nil || ignored || lt.Name != "myapp-audit" || lt.IndexName != "log-app-myapp" {
		t.Fatalf("detect: %+v ignored=%v", lt, ignored)
	}
}

// TestTransformFiles: the Go transform of a type lives in
// transform_<type>.go (- as _), which registers it; a transform shared by
// several types lives in the file of one of them.
func TestTransformFiles(t *testing.T) {
	files, _ := filepath.Glob("transform_*.go")
	reg := regexp.MustCompile(`RegisterTransform\("([^"]+)"`)
	registered := map[string]string{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") || f == "transform_helpers.go" {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		own := strings.TrimSuffix(strings.TrimPrefix(f, "transform_"), ".go")
		var names []string
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			if m := reg.FindStringSubmatch(sc.Text()); m != nil {
				names = append(names, m[1])
				registered[m[1]] = f
			}
		}
		if !slices.Contains(names, own) {
			t.Errorf("%s registers %q, not its own type %q", f, names, own)
		}
	}
	if b, _ := os.ReadFile("transform_helpers.go"); reg.Match(b) {
		t.Errorf("transform_helpers.go registers a transform")
	}
	r, err := Load(Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, lt := range r.Types() {
		if lt.Transform == nil {
			continue
		}
		name := strings.ReplaceAll(lt.Name, "-", "_")
		if tr := lt.Raw("transform"); tr != "" {
			name = strings.ReplaceAll(tr, "-", "_")
		}
		if registered[name] == "" {
			t.Errorf("%s: transform %q is not registered in a transform_<type>.go file", lt.Name, name)
		}
	}
}
