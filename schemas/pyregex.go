package schemas

import (
	"fmt"
	"regexp"
	"strings"
)

// Python's re module (str patterns) makes \d, \w and \s Unicode-aware; Go's
// RE2 keeps them ASCII. compilePy rewrites them so that a pattern written for
// es-loader matches the same text here.
const (
	pyDigit    = `\p{Nd}`
	pyWord     = `\p{L}\p{N}_`
	pySpace    = `\t\n\v\f\r\x{1c}-\x{1f} \x{85}\p{Z}`
	pyNotDigit = `\P{Nd}`
)

// PatternError says which configuration key holds a pattern Go cannot use.
type PatternError struct {
	Section, Key, Pattern string
	Err                   error
	Hint                  string
}

func (e *PatternError) Error() string {
	s := fmt.Sprintf("[%s] %s: regular expression %q: %v", e.Section, e.Key, e.Pattern, e.Err)
	if e.Hint != "" {
		s += " (" + e.Hint + ")"
	}
	return s
}

func (e *PatternError) Unwrap() error { return e.Err }

// translatePy rewrites a Python regular expression into RE2 syntax.
func translatePy(p string) (string, string, error) {
	var b strings.Builder
	inClass := false
	classStart := false
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '\\' && i+1 < len(p):
			e := p[i+1]
			i++
			switch e {
			case 'd':
				if inClass {
					b.WriteString(pyDigit)
				} else {
					b.WriteString(`[` + pyDigit + `]`)
				}
			case 'D':
				if inClass {
					b.WriteString(pyNotDigit)
				} else {
					b.WriteString(`[^` + pyDigit + `]`)
				}
			case 'w':
				if inClass {
					b.WriteString(pyWord)
				} else {
					b.WriteString(`[` + pyWord + `]`)
				}
			case 'W':
				if inClass {
					b.WriteString(`\W`) // cannot negate a union inside a class: ASCII meaning
				} else {
					b.WriteString(`[^` + pyWord + `]`)
				}
			case 's':
				if inClass {
					b.WriteString(pySpace)
				} else {
					b.WriteString(`[` + pySpace + `]`)
				}
			case 'S':
				if inClass {
					b.WriteString(`\S`)
				} else {
					b.WriteString(`[^` + pySpace + `]`)
				}
			case 'Z':
				b.WriteString(`\z`)
			case '1', '2', '3', '4', '5', '6', '7', '8', '9':
				if !inClass {
					return "", "backreferences (\\1...) are not supported by Go's RE2; rewrite without them", fmt.Errorf("backreference \\%c", e)
				}
				b.WriteByte('\\')
				b.WriteByte(e)
			default:
				b.WriteByte('\\')
				b.WriteByte(e)
			}
			classStart = false
			continue
		case inClass:
			if c == ']' && !classStart {
				inClass = false
			}
			if c == '[' && i+1 < len(p) && p[i+1] == ':' {
				// Python has no POSIX classes: "[:" is literal there.
				b.WriteString(`\[`)
				classStart = false
				continue
			}
			classStart = classStart && c == '^'
			b.WriteByte(c)
			continue
		case c == '[':
			inClass = true
			classStart = true
			b.WriteByte(c)
			if i+1 < len(p) && p[i+1] == '^' {
				b.WriteByte('^')
				i++
			}
			continue
		case c == '(' && i+2 < len(p) && p[i+1] == '?':
			switch {
			case p[i+2] == '=' || p[i+2] == '!':
				return "", "look-ahead (?=...) / (?!...) is not supported by Go's RE2; match the text and filter in a transform, or rewrite the pattern", fmt.Errorf("look-ahead at offset %d", i)
			case p[i+2] == '<' && i+3 < len(p) && (p[i+3] == '=' || p[i+3] == '!'):
				return "", "look-behind (?<=...) / (?<!...) is not supported by Go's RE2; rewrite the pattern", fmt.Errorf("look-behind at offset %d", i)
			case p[i+2] == 'P' && i+3 < len(p) && p[i+3] == '=':
				return "", "named backreferences (?P=name) are not supported by Go's RE2", fmt.Errorf("named backreference at offset %d", i)
			case p[i+2] == '>':
				return "", "atomic groups are not supported by Go's RE2", fmt.Errorf("atomic group at offset %d", i)
			case p[i+2] == '#':
				end := strings.IndexByte(p[i:], ')')
				if end < 0 {
					return "", "", fmt.Errorf("unterminated comment")
				}
				i += end
				continue
			}
		}
		b.WriteByte(c)
	}
	return b.String(), "", nil
}

// compilePy compiles a Python pattern for re.search semantics.
func compilePy(section, key, p string) (*regexp.Regexp, error) {
	if err := checkPatternSize(section, key, p); err != nil {
		return nil, err
	}
	t, hint, err := translatePy(p)
	if err != nil {
		return nil, &PatternError{section, key, p, err, hint}
	}
	re, err := regexp.Compile(t)
	if err != nil {
		return nil, &PatternError{section, key, p, err, ""}
	}
	return re, nil
}

// compilePyMatch compiles a Python pattern for re.match semantics (anchored
// at the start, not at the end).
func compilePyMatch(section, key, p string) (*regexp.Regexp, error) {
	if err := checkPatternSize(section, key, p); err != nil {
		return nil, err
	}
	t, hint, err := translatePy(p)
	if err != nil {
		return nil, &PatternError{section, key, p, err, hint}
	}
	re, err := regexp.Compile(`^(?:` + t + `)`)
	if err != nil {
		return nil, &PatternError{section, key, p, err, ""}
	}
	return re, nil
}

// maxPatternBytes caps a configured regular expression. The longest
// built-in pattern is 1.1 KB; compiling a 10 MB one takes seconds and
// hundreds of MiB before RE2's own program-size check can refuse it.
const maxPatternBytes = 64 << 10

func checkPatternSize(section, key, p string) error {
	if len(p) > maxPatternBytes {
		return &PatternError{section, key, p[:64] + "…", fmt.Errorf("pattern is %d bytes, longer than the %d-byte limit", len(p), maxPatternBytes), ""}
	}
	return nil
}
