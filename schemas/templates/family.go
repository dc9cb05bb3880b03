package templates

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// family is one [section] of data/indices.conf: the indices one composable
// index template covers.
type family struct {
	Name       string
	Components []string
	Priority   int // offset added to Options.Priority
	CatchAll   bool
	Always     bool
	Aliases    []string
	Settings   []setting
	Suffix     string // template name suffix
	line       int
}

// Pattern is the index pattern of the family's template.
func (f *family) Pattern() string { return f.Name + "-*" }

// TemplateName is the name of the family's composable index template.
func (f *family) TemplateName() string { return f.Name + f.Suffix }

// covers reports whether index (a log type's index_name, or a concrete
// index) belongs to the family.
func (f *family) covers(index string) bool {
	return index == f.Name || strings.HasPrefix(index, f.Name+"-")
}

const (
	defaultFamilyPriority = 2
	rolloverPriority      = 5
	defaultSuffix         = "_aws"
)

// parseFamilies reads indices.conf (see the file's header for the keys).
func parseFamilies(text string) ([]*family, error) {
	var out []*family
	var cur *family
	var errs []error
	fail := func(line int, format string, args ...any) {
		errs = append(errs, fmt.Errorf("indices.conf:%d: %s", line, fmt.Sprintf(format, args...)))
	}
	seen := map[string]bool{}
	for i, raw := range strings.Split(text, "\n") {
		ln := i + 1
		line := strings.TrimSpace(raw)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]") {
			name := strings.TrimSpace(line[1 : len(line)-1])
			if err := validIndexName(name); err != nil {
				fail(ln, "family %q: %v", name, err)
			}
			if seen[name] {
				fail(ln, "family %q defined twice", name)
			}
			seen[name] = true
			cur = &family{Name: name, Priority: defaultFamilyPriority, Suffix: defaultSuffix, line: ln}
			out = append(out, cur)
			continue
		}
		if cur == nil {
			fail(ln, "line outside a section")
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			fail(ln, "want key = value")
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch {
		case k == "components":
			cur.Components = strings.Fields(v)
		case k == "priority":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n >= rolloverPriority {
				fail(ln, "priority %q: want 0..%d", v, rolloverPriority-1)
			}
			cur.Priority = n
		case k == "catchall" || k == "always":
			b, err := strconv.ParseBool(v)
			if err != nil {
				fail(ln, "%s %q: want true or false", k, v)
			}
			if k == "catchall" {
				cur.CatchAll = b
			} else {
				cur.Always = b
			}
		case k == "aliases":
			cur.Aliases = strings.Fields(v)
		case k == "suffix":
			cur.Suffix = v
		case strings.HasPrefix(k, "settings.index."):
			cur.Settings = append(cur.Settings, setting{strings.TrimPrefix(k, "settings."), typedSetting(v)})
		default:
			fail(ln, "unknown key %q", k)
		}
	}
	for _, f := range out {
		if len(f.Components) == 0 {
			errs = append(errs, fmt.Errorf("indices.conf:%d: [%s] has no components", f.line, f.Name))
		}
	}
	return out, errors.Join(errs...)
}

// validIndexName checks the rules OpenSearch applies to index names (and so
// to the families and prefixes the patterns are made of).
func validIndexName(s string) error {
	switch {
	case s == "":
		return errors.New("empty")
	case strings.ToLower(s) != s:
		return errors.New("must be lower case")
	case strings.HasPrefix(s, "-") || strings.HasPrefix(s, "_") || strings.HasPrefix(s, "+"):
		return errors.New("must not start with - _ or +")
	case strings.ContainsAny(s, `\/*?"<>| ,#:`):
		return errors.New(`must not contain \ / * ? " < > | space , # :`)
	case len(s) > 200:
		return errors.New("too long")
	}
	return nil
}

// resolve assigns every index name to a family: the longest non-catch-all
// family covering it, else a catch-all covering it, else a new family of its
// own (component_template_log only). It returns the families to install in
// name order and, per index name, its family.
func resolve(known []*family, indices []string) ([]*family, map[string]*family, error) {
	byLen := slices.Clone(known)
	slices.SortStableFunc(byLen, func(a, b *family) int { return len(b.Name) - len(a.Name) })
	use := map[string]*family{}
	of := map[string]*family{}
	for _, f := range known {
		if f.Always {
			use[f.Name] = f
		}
	}
	sorted := slices.Clone(indices)
	slices.Sort(sorted)
	sorted = slices.Compact(sorted)
	for _, ix := range sorted {
		if err := validIndexName(ix); err != nil {
			return nil, nil, fmt.Errorf("index_name %q: %w", ix, err)
		}
		var best, catch *family
		for _, f := range byLen {
			if f.Always || !f.covers(ix) {
				continue
			}
			if f.CatchAll {
				if catch == nil {
					catch = f
				}
				continue
			}
			if best == nil {
				best = f
			}
		}
		if catch != nil {
			// Installed whenever an index of its pattern exists, as es-loader
			// always has log-aws_aws next to the per-service templates.
			use[catch.Name] = catch
		}
		switch {
		case best != nil:
		case catch != nil:
			best = catch
		default:
			// A family of its own, unless an earlier synthesized one (a
			// shorter name, sorted first) covers it already.
			for _, f := range use {
				if !f.Always && !f.CatchAll && f.covers(ix) {
					best = f
				}
			}
			if best == nil {
				best = &family{Name: ix, Components: []string{"log"}, Priority: defaultFamilyPriority, Suffix: defaultSuffix}
			}
		}
		use[best.Name] = best
		of[ix] = best
	}
	out := make([]*family, 0, len(use))
	for _, f := range use {
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b *family) int { return strings.Compare(a.Name, b.Name) })
	return out, of, nil
}
