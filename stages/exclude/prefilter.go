package exclude

import (
	"bytes"
	"regexp/syntax"
	"slices"
	"unicode/utf8"
)

// Literal prefilter. Most values an exclusion rule sees do not match, and
// many rules cannot match without some literal text: `192\.0\.2\.\d+` needs
// "192.0.2.", es-loader's own-log user-agent rule `.*(siem-es-loader|…).*`
// needs one of its names. Checking for those with bytes.Index (vectorised)
// before running the regexp (a backtracker over the whole value) rejects
// most values for a fraction of the cost. A rule without such a set (case
// folding, classes only, optional parts) is always run in full.

// maxLiterals bounds a set: beyond it the scan costs more than it saves.
const maxLiterals = 8

// requiredLiterals returns strings one of which occurs in every text the
// pattern matches, or nil when it cannot say.
func requiredLiterals(pattern string) [][]byte {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil
	}
	return literalsOf(re)
}

// literalsOf is requiredLiterals of a pattern already parsed with
// syntax.Perl.
func literalsOf(re *syntax.Regexp) [][]byte {
	lits := required(re.Simplify())
	if len(lits) == 0 {
		return nil
	}
	out := make([][]byte, len(lits))
	for i, l := range lits {
		out[i] = []byte(l)
	}
	return out
}

func required(re *syntax.Regexp) []string {
	switch re.Op {
	case syntax.OpLiteral:
		if re.Flags&syntax.FoldCase != 0 || slices.Contains(re.Rune, utf8.RuneError) {
			return nil
		}
		return []string{string(re.Rune)}
	case syntax.OpCapture, syntax.OpPlus:
		return required(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return required(re.Sub[0])
		}
	case syntax.OpConcat:
		// Adjacent literals join (after Simplify they are usually one
		// node); otherwise the most selective child's set: the one whose
		// shortest literal is longest.
		var best []string
		for _, s := range re.Sub {
			if set := required(s); set != nil && shortest(set) > shortest(best) {
				best = set
			}
		}
		return best
	case syntax.OpAlternate:
		var all []string
		for _, s := range re.Sub {
			set := required(s)
			if set == nil {
				return nil
			}
			all = append(all, set...)
		}
		if len(all) > maxLiterals {
			return nil
		}
		return all
	}
	return nil
}

func shortest(set []string) int {
	if len(set) == 0 {
		return 0
	}
	n := len(set[0])
	for _, s := range set[1:] {
		n = min(n, len(s))
	}
	return n
}

func containsAny(text []byte, lits [][]byte) bool {
	for _, l := range lits {
		if bytes.Contains(text, l) {
			return true
		}
	}
	return false
}
