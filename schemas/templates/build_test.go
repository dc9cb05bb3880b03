package templates

import (
	"bytes"
	"encoding/json"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/siemstream/siemstream/schemas"
)

var update = flag.Bool("update", false, "rewrite testdata/golden/* with the generated bodies")

// goldenRegistry has one type per index name es-loader writes, plus an
// index_rotation = auto type and a type whose index no family covers, so
// the goldens do not depend on which built-in types exist.
func goldenRegistry(t testing.TB) *schemas.Registry {
	t.Helper()
	reg, err := schemas.Load(schemas.Options{UserINI: "testdata/all-indices.ini", Types: goldenTypes(t)})
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

func pretty(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

// goldenTypes is the built-in types directory restricted to the files the
// goldens were made from (testdata/golden-types.txt), so that dropping a new
// type file into schemas/types needs no edit here: a new type's template is
// checked by TestBuiltinTypesHaveFamilies instead.
func goldenTypes(t testing.TB) fs.FS {
	t.Helper()
	list, err := os.ReadFile("testdata/golden-types.txt")
	if err != nil {
		t.Fatal(err)
	}
	m := fstest.MapFS{}
	for _, name := range strings.Fields(string(list)) {
		b, err := os.ReadFile(filepath.Join("..", "types", name))
		if err != nil {
			t.Fatalf("golden type file %s: %v (a built-in type was removed or renamed: update testdata/golden-types.txt and run -update)", name, err)
		}
		m[name] = &fstest.MapFile{Data: b}
	}
	return m
}

// checkGolden compares got with testdata/golden/<rel> (-update rewrites it).
func checkGolden(t *testing.T, rel string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", "golden", rel)
	if *update {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test ./schemas/templates -update and review the diff)", err)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("%s differs from the generated body (run with -update and review the diff):\n%s", p, firstDiff(want, got))
	}
}

func firstDiff(a, b []byte) string {
	al, bl := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	for i := 0; i < max(len(al), len(bl)); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			return "line " + strconv.Itoa(i+1) + ":\n  golden: " + x + "\n  now:    " + y
		}
	}
	return ""
}

func TestGoldenBodies(t *testing.T) {
	set, err := Build(goldenRegistry(t), DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, tm := range set.All() {
		rel := filepath.Join(string(tm.Kind), tm.Name+".json")
		want[rel] = true
		t.Run(string(tm.Kind)+"/"+tm.Name, func(t *testing.T) { checkGolden(t, rel, pretty(t, tm.Body)) })
	}
	summary := map[string]any{"families": set.Families, "write_aliases": set.WriteAliases}
	checkGolden(t, "set.json", pretty(t, summary))
	want["set.json"] = true
	// A golden without a template is stale.
	olds, _ := filepath.Glob(filepath.Join("testdata", "golden", "*", "*.json"))
	for _, p := range olds {
		rel, _ := filepath.Rel(filepath.Join("testdata", "golden"), p)
		if want[rel] || strings.HasPrefix(rel, "policy"+string(filepath.Separator)) {
			continue
		}
		if *update {
			os.Remove(p)
			continue
		}
		t.Errorf("%s: no such template any more (run with -update)", p)
	}
}

// TestPolicyBodies pins the ISM request bodies for the option combinations.
func TestPolicyBodies(t *testing.T) {
	cases := []struct {
		name string
		opts func(*Options)
	}{
		{"default", func(*Options) {}},
		{"age-and-retention", func(o *Options) { o.RolloverSize, o.RolloverAge, o.RetentionDays = "50gb", "7d", 90 }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := DefaultOptions()
			c.opts(&o)
			set, err := Build(goldenRegistry(t), o)
			if err != nil {
				t.Fatal(err)
			}
			if set.Policy == nil {
				t.Fatal("no policy although an index_rotation = auto type exists")
			}
			checkGolden(t, filepath.Join("policy", c.name+".json"), pretty(t, set.Policy.Body))
		})
	}
}

func TestNoPolicyWithoutAutoRotation(t *testing.T) {
	reg, err := schemas.Load(schemas.Options{})
	if err != nil {
		t.Fatal(err)
	}
	set, err := Build(reg, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	for _, lt := range reg.Types() {
		if lt.IndexRotation == schemas.RotateAuto {
			t.Skip("a built-in type uses index_rotation = auto")
		}
	}
	if set.Policy != nil || len(set.WriteAliases) > 0 {
		t.Errorf("policy %v, aliases %v: want none", set.Policy, set.WriteAliases)
	}
	for _, tm := range set.Indices {
		if tm.ISM {
			t.Errorf("rollover template %s without an auto type", tm.Name)
		}
	}
}

// TestBuiltinTypesHaveFamilies: every built-in index_name has a family from
// indices.conf (es-loader has no template for the web server indices, which
// get one of their own).
func TestBuiltinTypesHaveFamilies(t *testing.T) {
	reg, err := schemas.Load(schemas.Options{})
	if err != nil {
		t.Fatal(err)
	}
	d, err := loadData()
	if err != nil {
		t.Fatal(err)
	}
	declared := map[string]bool{}
	for _, f := range d.families {
		declared[f.TemplateName()] = true
	}
	set, err := Build(reg, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	// The curated types (those the goldens were made from) must each have a
	// declared family; a type file added later gets, like a user.ini type,
	// a family of its own made of component_template_log (logged: declare a
	// family in data/indices.conf to give it ECS field types).
	curated, err := schemas.Load(schemas.Options{Types: goldenTypes(t)})
	if err != nil {
		t.Fatal(err)
	}
	cset, err := Build(curated, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	for ix, tmpl := range set.Families {
		if declared[tmpl] || strings.HasPrefix(ix, "log-web-") {
			continue
		}
		if _, ok := cset.Families[ix]; ok {
			t.Errorf("index %s: template %s is not declared in data/indices.conf", ix, tmpl)
			continue
		}
		t.Logf("index %s of a new type: own template %s (component_template_log only); declare a family in data/indices.conf for ECS field types", ix, tmpl)
	}
}

func TestOptions(t *testing.T) {
	base, err := Build(goldenRegistry(t), DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	find := func(s *Set, name string) Template {
		for _, tm := range s.All() {
			if tm.Name == name {
				return tm
			}
		}
		t.Fatalf("no template %s", name)
		return Template{}
	}
	settings := func(tm Template) map[string]any {
		m, _ := tm.Body["template"].(map[string]any)
		s, _ := m["settings"].(map[string]any)
		return s
	}
	cases := []struct {
		name  string
		opts  func(*Options)
		check func(t *testing.T, s *Set)
	}{
		{"shards and replicas", func(o *Options) { o.Shards, o.Replicas = 2, 0 }, func(t *testing.T, s *Set) {
			for _, tm := range s.Indices {
				st := settings(tm)
				if st["index.number_of_shards"] != int64(2) || st["index.number_of_replicas"] != int64(0) {
					t.Errorf("%s: settings %v", tm.Name, st)
				}
			}
		}},
		{"replicas unset by default", func(*Options) {}, func(t *testing.T, s *Set) {
			for _, tm := range s.Indices {
				if _, ok := settings(tm)["index.number_of_replicas"]; ok {
					t.Errorf("%s sets replicas", tm.Name)
				}
			}
		}},
		{"priority", func(o *Options) { o.Priority = 3 }, func(t *testing.T, s *Set) {
			for name, want := range map[string]int64{"log-aws_aws": 4, "log-aws-elb_aws": 5, "log-ocsf_aws": 4, "log-aws-cloudtrail-rollover_rollover": 8, "log-custom-app_aws": 5} {
				if got := find(s, name).Body["priority"]; got != want {
					t.Errorf("%s: priority %v, want %d", name, got, want)
				}
			}
		}},
		{"dead-letter prefix", func(o *Options) { o.DeadLetterPrefix = "dl" }, func(t *testing.T, s *Set) {
			tm := find(s, "dl_siemstream")
			if p := tm.Body["index_patterns"].([]any)[0]; p != "dl-*" {
				t.Errorf("pattern %v", p)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := DefaultOptions()
			c.opts(&o)
			s, err := Build(goldenRegistry(t), o)
			if err != nil {
				t.Fatal(err)
			}
			c.check(t, s)
		})
	}
	// Versions: the same input gives the same versions; an option that
	// changes a body changes exactly that body's version.
	o := DefaultOptions()
	o.Shards = 1
	again, _ := Build(goldenRegistry(t), DefaultOptions())
	changed, _ := Build(goldenRegistry(t), o)
	for i, tm := range base.All() {
		if again.All()[i].Version != tm.Version {
			t.Errorf("%s: version not deterministic", tm.Name)
		}
		c := changed.All()[i]
		if (tm.Kind == KindIndex) == (c.Version == tm.Version) {
			t.Errorf("%s (%s): version %d -> %d with Shards=1", tm.Name, tm.Kind, tm.Version, c.Version)
		}
	}
}

func TestValidate(t *testing.T) {
	good := DefaultOptions()
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := (Options{}).Validate(); err != nil {
		t.Fatalf("zero options: %v", err)
	}
	bad := []func(*Options){
		func(o *Options) { o.Priority = -1 },
		func(o *Options) { o.Shards = -1 },
		func(o *Options) { o.Replicas = -2 },
		func(o *Options) { o.DeadLetterPrefix = "Dead" },
		func(o *Options) { o.DeadLetterPrefix = "a*b" },
		func(o *Options) { o.ISMPolicyID = "Bad Name" },
		func(o *Options) { o.RolloverSize = "100 GB" },
		func(o *Options) { o.RolloverAge = "1 week" },
		func(o *Options) { o.RetentionDays = -3 },
	}
	for i, f := range bad {
		o := DefaultOptions()
		f(&o)
		if err := o.Validate(); err == nil {
			t.Errorf("case %d: %+v accepted", i, o)
		}
	}
}

func TestResolve(t *testing.T) {
	known, err := parseFamilies(`
[log-aws]
components = log log-aws
priority = 1
catchall = true
[log-aws-rds]
components = log log-aws log-aws-rds
[log-aws-elb]
components = log log-aws log-aws-elb
[dl]
components = siemstream-deadletter
always = true
`)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		indices []string
		want    map[string]string // index -> family
		install []string
	}{
		{[]string{"log-aws-elb"}, map[string]string{"log-aws-elb": "log-aws-elb"}, []string{"dl", "log-aws", "log-aws-elb"}},
		{[]string{"log-aws-rds-mysql", "log-aws-rds-postgresql"}, map[string]string{"log-aws-rds-mysql": "log-aws-rds", "log-aws-rds-postgresql": "log-aws-rds"}, []string{"dl", "log-aws", "log-aws-rds"}},
		{[]string{"log-aws-new"}, map[string]string{"log-aws-new": "log-aws"}, []string{"dl", "log-aws"}},
		{[]string{"log-aws-elbx"}, map[string]string{"log-aws-elbx": "log-aws"}, []string{"dl", "log-aws"}},
		{[]string{"log-app", "log-app-x"}, map[string]string{"log-app": "log-app", "log-app-x": "log-app"}, []string{"dl", "log-app"}},
		{[]string{"myapp"}, map[string]string{"myapp": "myapp"}, []string{"dl", "myapp"}},
		{nil, map[string]string{}, []string{"dl"}},
	}
	for _, c := range cases {
		fams, of, err := resolve(known, c.indices)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for ix, f := range of {
			got[ix] = f.Name
		}
		var names []string
		for _, f := range fams {
			names = append(names, f.Name)
		}
		if !mapsEqual(got, c.want) || !slices.Equal(names, c.install) {
			t.Errorf("%v: families %v install %v, want %v %v", c.indices, got, names, c.want, c.install)
		}
	}
	if _, _, err := resolve(known, []string{"Log-Upper"}); err == nil {
		t.Error("upper-case index name accepted")
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestParseFamiliesErrors(t *testing.T) {
	for _, text := range []string{
		"[a]\n",              // no components
		"components = log\n", // outside a section
		"[a]\ncomponents = log\n[a]\ncomponents = log\n", // twice
		"[a]\ncomponents = log\npriority = 7\n",
		"[a]\ncomponents = log\nbogus = 1\n",
		"[A]\ncomponents = log\n",
		"[a]\ncomponents log\n",
	} {
		if _, err := parseFamilies(text); err == nil {
			t.Errorf("accepted %q", text)
		}
	}
}
