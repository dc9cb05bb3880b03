package schemas

import (
	"errors"
	"fmt"
	"strings"

	"github.com/siemstream/siemstream/internal/pystr"
)

// iniConfig is a reader with the semantics of Python's configparser as
// es-loader configures it: ConfigParser(interpolation=ExtendedInterpolation())
// with optionxform = str (case-sensitive option names), default
// delimiters ("=" and ":"), full-line comment prefixes "#" and ";" (no inline
// comments), empty_lines_in_values=True, strict=True (a section or option
// repeated within one file is an error), DEFAULT inherited by every section.
// Several files are read into the same config in order: a later file
// overrides options of sections it repeats, new sections are appended, an
// existing section keeps its position.
type iniConfig struct {
	defaults *iniSection
	sections []*iniSection
	byName   map[string]*iniSection
	// size is the bytes read so far, interpolated is the bytes produced
	// by get so far: both are capped (see the limits below).
	size, interpolated int
}

// Limits on what a configuration may make the loader do. configparser has
// none: a 530-byte user.ini whose options refer to each other ten levels
// deep ("billion laughs") expands past 6 GiB. es-loader's own aws.ini is
// 60 KB with 43 sections and no value over 1.2 KB; these are far above any
// real configuration and far below what hurts.
const (
	// maxINIBytes caps the text of all files read into one config.
	maxINIBytes = 4 << 20
	// maxINISections caps the number of sections (log types).
	maxINISections = 10_000
	// maxValueBytes caps one option's value after interpolation.
	maxValueBytes = 1 << 20
	// maxInterpolatedBytes caps all interpolated values of a config together.
	maxInterpolatedBytes = 64 << 20
)

type iniSection struct {
	name  string
	order []string
	vals  map[string]string
	// origin of each option ("file:line"), for error messages
	origin map[string]string
}

func newINI() *iniConfig {
	return &iniConfig{defaults: newSection("DEFAULT"), byName: map[string]*iniSection{}}
}

func newSection(name string) *iniSection {
	return &iniSection{name: name, vals: map[string]string{}, origin: map[string]string{}}
}

func (s *iniSection) set(key, val, origin string) {
	if _, ok := s.vals[key]; !ok {
		s.order = append(s.order, key)
	}
	s.vals[key] = val
	s.origin[key] = origin
}

// IniError is a syntax error in a configuration file.
type IniError struct {
	File string
	Line int
	Msg  string
}

func (e *IniError) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg) }

// read parses one file's text into the config.
func (c *iniConfig) read(file, text string) error {
	var (
		cur         *iniSection
		curName     string
		optname     string
		optLines    []string
		indentLevel = 0
		added       = map[string]bool{} // strict: "section\x00option" and sections within this file
		lines       []string
	)
	c.size += len(text)
	if c.size > maxINIBytes {
		return &IniError{file, 0, fmt.Sprintf("configuration is larger than %d bytes in all (%d)", maxINIBytes, c.size)}
	}
	lines = splitLinesPy(text)
	flush := func() {
		if cur != nil && optname != "" {
			v := strings.Join(optLines, "\n")
			v = strings.TrimRightFunc(v, pystr.IsSpace)
			cur.vals[optname] = v
		}
		optname, optLines = "", nil
	}
	for i, line := range lines {
		lineno := i + 1
		stripped := pystr.Strip(line)
		if strings.HasPrefix(stripped, "#") || strings.HasPrefix(stripped, ";") {
			continue // full-line comment: does not end a multi-line value
		}
		if stripped == "" {
			if cur != nil && optname != "" {
				optLines = append(optLines, "")
			}
			continue
		}
		curIndent := len(line) - len(strings.TrimLeftFunc(line, pystr.IsSpace))
		if cur != nil && optname != "" && curIndent > indentLevel {
			optLines = append(optLines, stripped) // continuation line
			continue
		}
		indentLevel = curIndent
		if rb := strings.LastIndex(stripped, "]"); strings.HasPrefix(stripped, "[") && rb > 1 {
			flush()
			// configparser: \[(?P<header>.+)\] matched from the start; the
			// header runs to the last "]" (anything after it is ignored).
			name := stripped[1:rb]
			if added["\x00"+name] {
				return &IniError{file, lineno, fmt.Sprintf("section %q already exists in this file", name)}
			}
			added["\x00"+name] = true
			curName = name
			switch {
			case name == "DEFAULT":
				cur = c.defaults
			case c.byName[name] != nil:
				cur = c.byName[name]
			default:
				if len(c.sections) >= maxINISections {
					return &IniError{file, lineno, fmt.Sprintf("section [%s]: more than %d sections", name, maxINISections)}
				}
				cur = newSection(name)
				c.byName[name] = cur
				c.sections = append(c.sections, cur)
			}
			continue
		}
		if cur == nil {
			return &IniError{file, lineno, "option before the first [section] header"}
		}
		// OPTCRE: (?P<option>.*?)\s*(?P<vi>=|:)\s*(?P<value>.*)$ — the first
		// "=" or ":" separates name and value.
		k := strings.IndexAny(stripped, "=:")
		if k < 0 {
			flush()
			return &IniError{file, lineno, fmt.Sprintf("line is neither a [section], an option = value nor a comment: %q", stripped)}
		}
		name := strings.TrimRightFunc(stripped[:k], pystr.IsSpace)
		if name == "" {
			return &IniError{file, lineno, "option with an empty name"}
		}
		flush()
		if added[curName+"\x00"+name] {
			return &IniError{file, lineno, fmt.Sprintf("option %q repeated in section [%s] of this file", name, curName)}
		}
		added[curName+"\x00"+name] = true
		optname = name
		cur.set(name, "", fmt.Sprintf("%s:%d", file, lineno))
		optLines = append(optLines[:0], pystr.Strip(stripped[k+1:]))
	}
	flush()
	return nil
}

// splitLinesPy splits text like Python's universal-newline file iteration
// (\n, \r\n and \r end a line).
func splitLinesPy(text string) []string {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	text = strings.ReplaceAll(text, "\r", "\n")
	return strings.Split(text, "\n")
}

// keys lists the options visible in section s (DEFAULT's first, then the
// section's own), without duplicates.
func (c *iniConfig) keys(s *iniSection) []string {
	var out []string
	seen := map[string]bool{}
	for _, k := range c.defaults.order {
		seen[k] = true
		out = append(out, k)
	}
	for _, k := range s.order {
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out
}

// raw returns the uninterpolated value of key in section s (or DEFAULT).
func (c *iniConfig) raw(s *iniSection, key string) (string, bool) {
	if v, ok := s.vals[key]; ok {
		return v, true
	}
	v, ok := c.defaults.vals[key]
	return v, ok
}

func (c *iniConfig) origin(s *iniSection, key string) string {
	if o, ok := s.origin[key]; ok {
		return o
	}
	return c.defaults.origin[key]
}

const maxInterpolationDepth = 10

// errValueTooLong: interpolation reached maxValueBytes (get names the option).
var errValueTooLong = errors.New("value too long after interpolation")

// get returns the value of key in section s with ExtendedInterpolation
// applied: ${key} (same section, DEFAULT included), ${section:key}, $$ -> $.
// refs collects the options referenced.
func (c *iniConfig) get(s *iniSection, key string, refs map[string]bool) (string, error) {
	v, ok := c.raw(s, key)
	if !ok {
		return "", fmt.Errorf("no option %q in section [%s]", key, s.name)
	}
	var b strings.Builder
	if err := c.interpolate(&b, s, key, v, 1, refs); err != nil {
		if err == errValueTooLong {
			// Named after the option asked for, not the reference where
			// the cap was reached.
			return "", fmt.Errorf("option %q in section [%s]: value is longer than %d bytes after interpolation", key, s.name, maxValueBytes)
		}
		return "", err
	}
	c.interpolated += b.Len()
	if c.interpolated > maxInterpolatedBytes {
		return "", fmt.Errorf("option %q in section [%s]: interpolated values exceed %d bytes in all", key, s.name, maxInterpolatedBytes)
	}
	return b.String(), nil
}

func (c *iniConfig) interpolate(b *strings.Builder, s *iniSection, opt, rest string, depth int, refs map[string]bool) error {
	if depth > maxInterpolationDepth {
		return fmt.Errorf("interpolation of %q in section [%s] is nested more than %d levels deep", opt, s.name, maxInterpolationDepth)
	}
	for rest != "" {
		// Checked before every write: references may multiply the value's
		// size at each level, so it must stop growing at the cap, not after.
		if b.Len() > maxValueBytes {
			return errValueTooLong
		}
		p := strings.IndexByte(rest, '$')
		if p < 0 {
			b.WriteString(rest)
			return nil
		}
		b.WriteString(rest[:p])
		rest = rest[p:]
		if len(rest) < 2 {
			return fmt.Errorf("option %q in section [%s]: '$' must be followed by '$' or '{', found: %q", opt, s.name, rest)
		}
		switch rest[1] {
		case '$':
			b.WriteByte('$')
			rest = rest[2:]
		case '{':
			end := strings.IndexByte(rest, '}')
			if end < 0 || end == 2 {
				return fmt.Errorf("option %q in section [%s]: bad interpolation variable reference %q", opt, s.name, rest)
			}
			ref := rest[2:end]
			rest = rest[end+1:]
			parts := strings.Split(ref, ":")
			target := s
			var name string
			switch len(parts) {
			case 1:
				name = parts[0]
			case 2:
				name = parts[1]
				switch {
				case parts[0] == "DEFAULT":
					target = c.defaults
				case c.byName[parts[0]] != nil:
					target = c.byName[parts[0]]
				default:
					return fmt.Errorf("option %q in section [%s]: ${%s} names an unknown section", opt, s.name, ref)
				}
			default:
				return fmt.Errorf("option %q in section [%s]: more than one ':' in ${%s}", opt, s.name, ref)
			}
			v, ok := c.raw(target, name)
			if !ok {
				return fmt.Errorf("option %q in section [%s]: ${%s} refers to a missing option", opt, s.name, ref)
			}
			if refs != nil && target == s {
				refs[name] = true
			}
			if strings.Contains(v, "$") {
				if err := c.interpolate(b, target, name, v, depth+1, refs); err != nil {
					return err
				}
			} else {
				if b.Len()+len(v) > maxValueBytes {
					return errValueTooLong
				}
				b.WriteString(v)
			}
		default:
			return fmt.Errorf("option %q in section [%s]: '$' must be followed by '$' or '{', found: %q", opt, s.name, rest)
		}
	}
	return nil
}
