package templates

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// component is one parsed data/components/<name>.mapping file.
type component struct {
	Name        string // file base name; installed as component_template_<Name>
	Description string
	Settings    []setting
	Dynamic     []dynamicRule
	Fields      []*field
	objects     map[string][]*field // [object NAME] sections
}

// setting is one index setting with its typed value (bool, int64 or string).
type setting struct {
	Key   string
	Value any
}

// dynamicRule is one entry of mappings.dynamic_templates.
type dynamicRule struct {
	Name, MatchMappingType, Type string
}

// field is one line of a [fields] or [object] section.
type field struct {
	Path      string // dotted path as written
	Type      string
	Attrs     map[string]any    // format, doc_values, index, ignore_above, ...
	Subfields map[string]string // multi-fields: name -> type
	Ref       string            // properties=<object>
	Children  []*field          // indented lines below an object/nested field
	line      int
}

var fieldTypes = map[string]bool{
	"keyword": true, "text": true, "match_only_text": true, "wildcard": true,
	"date": true, "date_nanos": true, "ip": true, "geo_point": true,
	"long": true, "integer": true, "short": true, "byte": true,
	"double": true, "float": true, "half_float": true, "unsigned_long": true,
	"boolean": true, "binary": true, "object": true, "nested": true, "flat_object": true,
}

// attrKinds says how an attribute value is typed in the JSON body.
var attrKinds = map[string]byte{
	"format": 's', "null_value": 's', "doc_values": 'b', "index": 'b',
	"store": 'b', "enabled": 'b', "coerce": 'b', "norms": 'b',
	"ignore_malformed": 'b', "ignore_above": 'i',
}

// parseComponent reads a .mapping file:
//
//	# comment
//	[template]   description = text
//	[settings]   index.setting = value        (true/false and integers are typed)
//	[dynamic]    name  match_mapping_type  type
//	[fields]     dotted.path  type  [attr=value ...] [+sub | +sub=type ...]
//	[object N]   fields reused with "properties=N"
//
// In [fields] and [object] sections a line indented deeper than the line
// above it that declares an object or nested field is one of that field's
// properties. Attribute values with spaces are double-quoted.
func parseComponent(name, text string) (*component, error) {
	c := &component{Name: name, objects: map[string][]*field{}}
	section := ""
	var objName string
	type frame struct {
		indent int
		f      *field
	}
	var stack []frame
	var errs []error
	fail := func(line int, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s.mapping:%d: %s", name, line, fmt.Sprintf(format, args...)))
	}
	add := func(f *field, indent int) {
		for len(stack) > 0 && stack[len(stack)-1].indent >= indent {
			stack = stack[:len(stack)-1]
		}
		if len(stack) > 0 {
			parent := stack[len(stack)-1].f
			parent.Children = append(parent.Children, f)
		} else if section == "object" {
			c.objects[objName] = append(c.objects[objName], f)
		} else {
			c.Fields = append(c.Fields, f)
		}
		if f.Type == "object" || f.Type == "nested" {
			stack = append(stack, frame{indent, f})
		}
	}
	for i, raw := range strings.Split(text, "\n") {
		ln := i + 1
		line := strings.TrimRight(raw, " \t\r")
		trimmed := strings.TrimLeft(line, " \t")
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		if strings.HasPrefix(trimmed, "[") {
			if !strings.HasSuffix(trimmed, "]") {
				fail(ln, "bad section header %q", trimmed)
				continue
			}
			h := strings.Fields(trimmed[1 : len(trimmed)-1])
			stack = stack[:0]
			switch {
			case len(h) == 1 && (h[0] == "template" || h[0] == "settings" || h[0] == "dynamic" || h[0] == "fields"):
				section = h[0]
			case len(h) == 2 && h[0] == "object":
				section, objName = "object", h[1]
				if _, dup := c.objects[objName]; dup {
					fail(ln, "object %q defined twice", objName)
				}
				c.objects[objName] = nil
			default:
				fail(ln, "unknown section %q", trimmed)
				section = "?"
			}
			continue
		}
		switch section {
		case "template", "settings":
			k, v, ok := strings.Cut(trimmed, "=")
			if !ok {
				fail(ln, "want key = value")
				continue
			}
			k, v = strings.TrimSpace(k), strings.TrimSpace(v)
			if section == "template" {
				if k != "description" {
					fail(ln, "unknown [template] key %q", k)
				}
				c.Description = v
				continue
			}
			if !strings.HasPrefix(k, "index.") {
				fail(ln, "setting %q: want an index.* setting", k)
				continue
			}
			c.Settings = append(c.Settings, setting{k, typedSetting(v)})
		case "dynamic":
			f := strings.Fields(trimmed)
			if len(f) != 3 || !fieldTypes[f[2]] {
				fail(ln, "want: name match_mapping_type type")
				continue
			}
			c.Dynamic = append(c.Dynamic, dynamicRule{f[0], f[1], f[2]})
		case "fields", "object":
			f, err := parseField(trimmed)
			if err != nil {
				fail(ln, "%v", err)
				continue
			}
			f.line = ln
			add(f, len(line)-len(trimmed))
		case "":
			fail(ln, "line outside a section")
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if c.Description == "" {
		return nil, fmt.Errorf("%s.mapping: [template] description is missing", name)
	}
	// Resolve every reference once so a broken or cyclic one fails at load.
	if _, err := c.mappings(); err != nil {
		return nil, err
	}
	return c, nil
}

// typedSetting gives true/false and integers their JSON type.
func typedSetting(v string) any {
	switch v {
	case "true":
		return true
	case "false":
		return false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return n
	}
	return v
}

// parseField parses "path type attr..." (the line without indentation).
func parseField(s string) (*field, error) {
	toks, err := splitQuoted(s)
	if err != nil {
		return nil, err
	}
	if len(toks) < 2 {
		return nil, errors.New("want: path type [attributes]")
	}
	f := &field{Path: toks[0], Type: toks[1]}
	if !fieldTypes[f.Type] {
		return nil, fmt.Errorf("field %s: unknown type %q", f.Path, f.Type)
	}
	if strings.HasPrefix(f.Path, ".") || strings.HasSuffix(f.Path, ".") || strings.Contains(f.Path, "..") {
		return nil, fmt.Errorf("field %q: empty path segment", f.Path)
	}
	for _, t := range toks[2:] {
		if sub, ok := strings.CutPrefix(t, "+"); ok {
			name, typ, hasType := strings.Cut(sub, "=")
			if !hasType {
				typ = name
			}
			if name == "" || !fieldTypes[typ] || typ == "object" || typ == "nested" {
				return nil, fmt.Errorf("field %s: bad multi-field %q", f.Path, t)
			}
			if f.Subfields == nil {
				f.Subfields = map[string]string{}
			}
			f.Subfields[name] = typ
			continue
		}
		k, v, ok := strings.Cut(t, "=")
		if !ok {
			return nil, fmt.Errorf("field %s: attribute %q: want key=value", f.Path, t)
		}
		if k == "properties" {
			if f.Type != "object" && f.Type != "nested" {
				return nil, fmt.Errorf("field %s: properties= needs an object or nested field", f.Path)
			}
			f.Ref = v
			continue
		}
		kind, known := attrKinds[k]
		if !known {
			return nil, fmt.Errorf("field %s: unknown attribute %q", f.Path, k)
		}
		if f.Attrs == nil {
			f.Attrs = map[string]any{}
		}
		switch kind {
		case 'b':
			b, err := strconv.ParseBool(v)
			if err != nil {
				return nil, fmt.Errorf("field %s: %s=%q: want true or false", f.Path, k, v)
			}
			f.Attrs[k] = b
		case 'i':
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("field %s: %s=%q: want a non-negative integer", f.Path, k, v)
			}
			f.Attrs[k] = n
		default:
			f.Attrs[k] = v
		}
	}
	return f, nil
}

// splitQuoted splits on blanks; a double-quoted part (after "=" or as a whole
// token) may contain blanks.
func splitQuoted(s string) ([]string, error) {
	var out []string
	var b strings.Builder
	in, started := false, false
	for _, r := range s {
		switch {
		case r == '"':
			in, started = !in, true
		case (r == ' ' || r == '\t') && !in:
			if started {
				out = append(out, b.String())
				b.Reset()
				started = false
			}
		default:
			b.WriteRune(r)
			started = true
		}
	}
	if in {
		return nil, errors.New("unterminated quote")
	}
	if started {
		out = append(out, b.String())
	}
	return out, nil
}

// maxObjectDepth bounds nested [object] references (OCSF objects refer to
// each other a few levels deep; a cycle would never end).
const maxObjectDepth = 8

// mappings renders the component's "mappings" body.
func (c *component) mappings() (map[string]any, error) {
	props, err := c.properties(c.Fields, 0, nil)
	if err != nil {
		return nil, err
	}
	m := map[string]any{}
	if len(c.Dynamic) > 0 {
		var dts []any
		for _, d := range c.Dynamic {
			dts = append(dts, map[string]any{d.Name: map[string]any{
				"match_mapping_type": d.MatchMappingType,
				"mapping":            map[string]any{"type": d.Type},
			}})
		}
		m["dynamic_templates"] = dts
	}
	if len(props) > 0 {
		m["properties"] = props
	}
	return m, nil
}

// properties expands dotted paths into nested "properties" objects, as
// OpenSearch stores them, and resolves object references.
func (c *component) properties(fields []*field, depth int, refs []string) (map[string]any, error) {
	root := map[string]any{}
	for _, f := range fields {
		segs := strings.Split(f.Path, ".")
		cur := root
		for i, s := range segs[:len(segs)-1] {
			next, ok := cur[s].(map[string]any)
			if !ok {
				next = map[string]any{}
				cur[s] = next
			}
			if t, _ := next["type"].(string); t != "" && t != "object" && t != "nested" {
				return nil, fmt.Errorf("%s.mapping:%d: %s: %s is a %s, not an object", c.Name, f.line, f.Path, strings.Join(segs[:i+1], "."), t)
			}
			sub, ok := next["properties"].(map[string]any)
			if !ok {
				sub = map[string]any{}
				next["properties"] = sub
			}
			cur = sub
		}
		leaf := segs[len(segs)-1]
		node, exists := cur[leaf].(map[string]any)
		if !exists {
			node = map[string]any{}
			cur[leaf] = node
		}
		if t, _ := node["type"].(string); t != "" {
			return nil, fmt.Errorf("%s.mapping:%d: %s declared twice", c.Name, f.line, f.Path)
		}
		if _, hasProps := node["properties"]; hasProps && f.Type != "object" && f.Type != "nested" {
			return nil, fmt.Errorf("%s.mapping:%d: %s is a %s but has sub-fields", c.Name, f.line, f.Path, f.Type)
		}
		node["type"] = f.Type
		maps.Copy(node, f.Attrs)
		if len(f.Subfields) > 0 {
			subs := map[string]any{}
			for n, t := range f.Subfields {
				subs[n] = map[string]any{"type": t}
			}
			node["fields"] = subs
		}
		var children []*field
		if f.Ref != "" {
			if slices.Contains(refs, f.Ref) || depth >= maxObjectDepth {
				return nil, fmt.Errorf("%s.mapping:%d: %s: object %q refers to itself (%s)", c.Name, f.line, f.Path, f.Ref, strings.Join(append(refs, f.Ref), " -> "))
			}
			obj, ok := c.objects[f.Ref]
			if !ok {
				return nil, fmt.Errorf("%s.mapping:%d: %s: no [object %s]", c.Name, f.line, f.Path, f.Ref)
			}
			children = append(children, obj...)
		}
		children = append(children, f.Children...)
		if len(children) > 0 {
			var nextRefs []string
			if f.Ref != "" {
				nextRefs = append(slices.Clone(refs), f.Ref)
			} else {
				nextRefs = refs
			}
			sub, err := c.properties(children, depth+1, nextRefs)
			if err != nil {
				return nil, err
			}
			if old, ok := node["properties"].(map[string]any); ok {
				if err := mergeProps(old, sub, f.Path); err != nil {
					return nil, fmt.Errorf("%s.mapping:%d: %w", c.Name, f.line, err)
				}
			} else {
				node["properties"] = sub
			}
		}
	}
	return root, nil
}

// mergeProps adds src's fields to dst; the same leaf in both is an error.
func mergeProps(dst, src map[string]any, at string) error {
	for k, v := range src {
		old, ok := dst[k].(map[string]any)
		if !ok {
			dst[k] = v
			continue
		}
		nv := v.(map[string]any)
		ot, _ := old["type"].(string)
		nt, _ := nv["type"].(string)
		if ot != "" && nt != "" {
			return fmt.Errorf("%s.%s declared twice", at, k)
		}
		if nt != "" {
			old["type"] = nt
		}
		op, _ := old["properties"].(map[string]any)
		np, _ := nv["properties"].(map[string]any)
		if np != nil {
			if op == nil {
				old["properties"] = np
			} else if err := mergeProps(op, np, at+"."+k); err != nil {
				return err
			}
		}
	}
	return nil
}

// settingsMap renders settings as a flat map of "index.x" keys.
func settingsMap(ss []setting) map[string]any {
	m := map[string]any{}
	for _, s := range ss {
		m[s.Key] = s.Value
	}
	return m
}
