package schemas

import (
	"regexp"
	"strings"
)

// KeyMatcher is a compiled s3_key, s3_key_ignored or s3_key_included
// pattern with Python re.search semantics. On top of RE2 it understands the
// one look-ahead shape es-loader's own documentation recommends for "load
// only these accounts":
//
//	s3_key_ignored = ^(?!.*(111111111111|222222222222)).*
//
// i.e. a leading negative look-ahead ^(?!A)B, which matches when B matches
// at the start of the key and A does not. RE2 cannot express it; we
// evaluate it as two anchored RE2 matches, so users' user.ini files work
// unchanged. Any other look-around is still a load error naming the key.
type KeyMatcher struct {
	re   *regexp.Regexp // the whole pattern (no look-ahead)
	not  *regexp.Regexp // ^(?:A)
	then *regexp.Regexp // ^(?:B)
	src  string
}

// MatchString reports whether the key matches (re.search).
func (m *KeyMatcher) MatchString(s string) bool {
	if m.re != nil {
		return m.re.MatchString(s)
	}
	return !m.not.MatchString(s) && m.then.MatchString(s)
}

// String returns the pattern as written.
func (m *KeyMatcher) String() string { return m.src }

// compileKey compiles a key pattern; see KeyMatcher.
func compileKey(section, key, p string) (*KeyMatcher, error) {
	if a, b, ok := splitLeadingNegLookahead(p); ok {
		not, err := compilePyMatch(section, key, a)
		if err != nil {
			return nil, err
		}
		then, err := compilePyMatch(section, key, b)
		if err != nil {
			return nil, err
		}
		return &KeyMatcher{not: not, then: then, src: p}, nil
	}
	re, err := compilePy(section, key, p)
	if err != nil {
		return nil, err
	}
	return &KeyMatcher{re: re, src: p}, nil
}

// splitLeadingNegLookahead splits "^(?!A)B" into A and B when the group is
// balanced and A and B hold no further look-around.
func splitLeadingNegLookahead(p string) (a, b string, ok bool) {
	if !strings.HasPrefix(p, "^(?!") {
		return "", "", false
	}
	depth, esc, class := 1, false, false
	for i := 4; i < len(p); i++ {
		c := p[i]
		switch {
		case esc:
			esc = false
		case c == '\\':
			esc = true
		case class:
			if c == ']' {
				class = false
			}
		case c == '[':
			class = true
		case c == '(':
			depth++
		case c == ')':
			depth--
			if depth == 0 {
				a, b = p[4:i], p[i+1:]
				if strings.Contains(a, "(?=") || strings.Contains(a, "(?!") || strings.Contains(b, "(?=") || strings.Contains(b, "(?!") ||
					strings.Contains(a, "(?<") || strings.Contains(b, "(?<") {
					return "", "", false
				}
				return a, b, true
			}
		}
	}
	return "", "", false
}
