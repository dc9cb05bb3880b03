package templates

import (
	"crypto/sha256"
	"embed"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"slices"
	"strings"
	"sync"

	"github.com/siemstream/siemstream/schemas"
)

//go:embed data/indices.conf data/components/*.mapping
var dataFS embed.FS

// Kind is the kind of object Install manages.
type Kind string

// Kinds, in installation order.
const (
	KindComponent  Kind = "component_template"
	KindIndex      Kind = "index_template"
	KindPolicy     Kind = "ism_policy"
	KindWriteAlias Kind = "write_alias"
)

// Template is one object to install: a component template, a composable
// index template or the ISM policy.
type Template struct {
	Kind Kind
	Name string
	// Version is the body's "version" field: a hash of the rest of the body,
	// so a changed data file or option changes it and Install updates the
	// object, and an unchanged one is skipped. For the ISM policy (which has
	// no version field) it is carried in the description as "rev <n>".
	Version int64
	// ISM: the object needs the Index State Management plugin (the policy
	// and the rollover templates).
	ISM  bool
	Body map[string]any
}

// Set is everything Install would create for a registry and options.
type Set struct {
	Components []Template
	Indices    []Template
	Policy     *Template
	// WriteAliases are the index names of index_rotation = auto types: each
	// needs <name>-000001 with the write alias <name>.
	WriteAliases []string
	// Families maps every index name of the registry to the name of the
	// index template that covers it.
	Families map[string]string
}

// All lists the templates in installation order (components first: index
// templates refer to them).
func (s *Set) All() []Template {
	out := slices.Concat(s.Components, s.Indices)
	if s.Policy != nil {
		out = append(out, *s.Policy)
	}
	return out
}

const (
	componentPrefix = "component_template_"
	managedBy       = "siemstream"
	deadLetterName  = "siemstream-deadletter"
	rolloverSuffix  = "_rollover"
	rolloverSetting = "plugins.index_state_management.rollover_alias"
	ismPattern      = "log-*-00*"
)

// data is the parsed embedded data.
type data struct {
	components map[string]*component
	families   []*family
}

var loadData = sync.OnceValues(func() (*data, error) {
	d := &data{components: map[string]*component{}}
	names, err := fs.Glob(dataFS, "data/components/*.mapping")
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, n := range names {
		b, err := dataFS.ReadFile(n)
		if err != nil {
			return nil, err
		}
		name := strings.TrimSuffix(path.Base(n), ".mapping")
		c, err := parseComponent(name, string(b))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		d.components[name] = c
	}
	b, err := dataFS.ReadFile("data/indices.conf")
	if err != nil {
		return nil, err
	}
	d.families, err = parseFamilies(string(b))
	if err != nil {
		errs = append(errs, err)
	}
	for _, f := range d.families {
		for _, c := range f.Components {
			if d.components[c] == nil {
				errs = append(errs, fmt.Errorf("indices.conf:%d: [%s]: no data/components/%s.mapping", f.line, f.Name, c))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("templates data: %w", err)
	}
	return d, nil
})

// Build computes the templates for the log types of reg (their index_name,
// user.ini types included) and opts. It does not contact the cluster.
func Build(reg *schemas.Registry, opts Options) (*Set, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	d, err := loadData()
	if err != nil {
		return nil, err
	}
	var indices, auto []string
	for _, lt := range reg.Types() {
		if lt.IndexName == "" {
			continue // incomplete type (LogType.Problem): never indexed
		}
		indices = append(indices, lt.IndexName)
		if lt.IndexRotation == schemas.RotateAuto {
			auto = append(auto, lt.IndexName)
		}
	}
	known := make([]*family, 0, len(d.families))
	for _, f := range d.families {
		if f.Name == deadLetterName {
			c := *f
			c.Name = opts.DeadLetterPrefix
			f = &c
		}
		known = append(known, f)
	}
	fams, of, err := resolve(known, indices)
	if err != nil {
		return nil, err
	}
	s := &Set{Families: map[string]string{}}
	for ix, f := range of {
		s.Families[ix] = f.TemplateName()
	}

	used := map[string]bool{}
	for _, f := range fams {
		for _, c := range f.Components {
			used[c] = true
		}
	}
	for _, name := range slices.Sorted(maps.Keys(used)) {
		c := d.components[name]
		m, err := c.mappings()
		if err != nil {
			return nil, err
		}
		tmpl := map[string]any{"mappings": m}
		if len(c.Settings) > 0 {
			tmpl["settings"] = settingsMap(c.Settings)
		}
		s.Components = append(s.Components, finish(KindComponent, componentPrefix+name, false, map[string]any{
			"template": tmpl,
			"_meta":    meta(c.Description),
		}))
	}
	for _, f := range fams {
		s.Indices = append(s.Indices, finish(KindIndex, f.TemplateName(), false,
			indexTemplate(f, f.Pattern(), opts.Priority+f.Priority, opts, nil,
				fmt.Sprintf("Indices %s: %s", f.Pattern(), strings.Join(f.Components, " + ")))))
	}
	slices.Sort(auto)
	auto = slices.Compact(auto)
	for _, ix := range auto {
		f := of[ix]
		extra := map[string]any{rolloverSetting: ix}
		s.Indices = append(s.Indices, finish(KindIndex, ix+rolloverSuffix, true,
			indexTemplate(f, ix+"-0*", opts.Priority+rolloverPriority, opts, extra,
				fmt.Sprintf("Rollover indices of the write alias %s (index_rotation = auto)", ix))))
	}
	s.WriteAliases = auto
	if len(auto) > 0 {
		p := policy(opts)
		s.Policy = &p
	}
	return s, nil
}

func meta(desc string) map[string]any {
	return map[string]any{
		"managed_by":  managedBy,
		"description": desc + ". Managed by siemstream: do not edit; to change it, add your own template with priority 10 or more.",
	}
}

func indexTemplate(f *family, pattern string, priority int, opts Options, extraSettings map[string]any, desc string) map[string]any {
	comps := make([]any, len(f.Components))
	for i, c := range f.Components {
		comps[i] = componentPrefix + c
	}
	settings := settingsMap(f.Settings)
	if opts.Shards > 0 {
		settings["index.number_of_shards"] = int64(opts.Shards)
	}
	if opts.Replicas >= 0 {
		settings["index.number_of_replicas"] = int64(opts.Replicas)
	}
	for k, v := range extraSettings {
		settings[k] = v
	}
	tmpl := map[string]any{}
	if len(settings) > 0 {
		tmpl["settings"] = settings
	}
	if len(f.Aliases) > 0 {
		al := map[string]any{}
		for _, a := range f.Aliases {
			al[a] = map[string]any{"is_write_index": false}
		}
		tmpl["aliases"] = al
	}
	body := map[string]any{
		"index_patterns": []any{pattern},
		"priority":       int64(priority),
		"composed_of":    comps,
		"_meta":          meta(desc),
	}
	if len(tmpl) > 0 {
		body["template"] = tmpl
	}
	return body
}

// finish stamps the body's version (the hash of the rest of the body).
func finish(kind Kind, name string, ism bool, body map[string]any) Template {
	v := hashVersion(body)
	body["version"] = v
	return Template{Kind: kind, Name: name, Version: v, ISM: ism, Body: body}
}

// hashVersion is a positive 31-bit hash of the canonical JSON of body
// (encoding/json sorts map keys). 31 bits keep it an int in every client.
func hashVersion(body map[string]any) int64 {
	b, err := json.Marshal(body)
	if err != nil {
		panic(fmt.Sprintf("templates: body does not marshal: %v", err)) // bodies are built from maps of JSON values
	}
	sum := sha256.Sum256(b)
	return int64(binary.BigEndian.Uint32(sum[:4]) & 0x7fffffff)
}

// policy builds the ISM rollover policy: roll over at RolloverSize (and
// RolloverAge), optionally delete RetentionDays after creation. Its
// ism_template attaches it to new indices named like es-loader's rollover
// indices (log-*-00*, i.e. <alias>-000001 and its successors).
func policy(opts Options) Template {
	rollover := map[string]any{"min_size": opts.RolloverSize}
	if opts.RolloverAge != "" {
		rollover["min_index_age"] = opts.RolloverAge
	}
	states := []any{map[string]any{
		"name":        "rollover",
		"actions":     []any{map[string]any{"rollover": rollover}},
		"transitions": []any{},
	}}
	what := "rollover at " + opts.RolloverSize
	if opts.RolloverAge != "" {
		what += " or " + opts.RolloverAge
	}
	if opts.RetentionDays > 0 {
		states[0].(map[string]any)["transitions"] = []any{map[string]any{
			"state_name": "delete",
			"conditions": map[string]any{"min_index_age": fmt.Sprintf("%dd", opts.RetentionDays)},
		}}
		states = append(states, map[string]any{
			"name":        "delete",
			"actions":     []any{map[string]any{"delete": map[string]any{}}},
			"transitions": []any{},
		})
		what += fmt.Sprintf(", delete %d days after creation", opts.RetentionDays)
	}
	p := map[string]any{
		"default_state": "rollover",
		"states":        states,
		"ism_template":  []any{map[string]any{"index_patterns": []any{ismPattern}, "priority": int64(0)}},
	}
	v := hashVersion(p)
	p["description"] = fmt.Sprintf("Managed by siemstream (rev %d): %s for indices written through a rollover alias (index_rotation = auto). Do not edit.", v, what)
	return Template{Kind: KindPolicy, Name: opts.ISMPolicyID, Version: v, ISM: true, Body: map[string]any{"policy": p}}
}

// MarshalJSON renders the set as one document: what install --dry-run
// prints.
func (s *Set) MarshalJSON() ([]byte, error) {
	out := map[string]any{}
	add := func(key string, t Template) {
		m, _ := out[key].(map[string]any)
		if m == nil {
			m = map[string]any{}
			out[key] = m
		}
		m[t.Name] = t.Body
	}
	plural := map[Kind]string{KindComponent: "component_templates", KindIndex: "index_templates", KindPolicy: "ism_policies"}
	for _, t := range s.All() {
		add(plural[t.Kind], t)
	}
	out["write_aliases"] = append([]string{}, s.WriteAliases...)
	out["index_families"] = s.Families
	return json.Marshal(out)
}
