package decode

import (
	"bytes"
	"regexp/syntax"
	"unicode/utf8"
)

// Deterministic scan segments.
//
// Most of a log_pattern is a fixed sequence: fields such as `(?P<x>[^ ]*)`,
// `"(?P<x>[^"]*)"` or `(-|(?P<x>[0-9]+))` separated by literals. For such
// an element the backtracking matcher has at most one way to go on: a run
// of a class followed by something that can only start with a byte outside
// the class must stop at the first byte outside it, and an alternation
// whose branches (each followed by the rest of the pattern) start with
// different bytes is decided by the next byte. compileFast finds, in the
// top-level sequence of a pattern, the maximal stretches of elements of
// that kind and compiles each into a detProg: a flat list of steps run by
// one loop over the bytes, with no closures, no choice points and no
// backtracking. A detProg is exactly the backtracking matcher restricted
// to the only choices that can succeed, so its offsets are regexp's; the
// elements it declines (non-local choices, e.g. ALB's lazy `.*?` inside
// "request", or two branches starting with the same byte) stay with the
// closures, which call a detProg as their continuation and vice versa.
//
// Positions are symbols: a byte, or symEOI at the end of the input. Only
// classes that treat every byte >= 0x80 alike are scanned by bytes: those
// holding every rune >= 0x80 (`[^ ]`, `.`: a multi-byte rune and an invalid
// byte, decoded as U+FFFD, are both members) and those holding none (`\w`,
// `[0-9a-f.:]`). A run of either stops at an ASCII byte or the end, which
// is always where the regexp's rune decoding would stop too.

const symEOI = 256

// symset is a set of symbols (256 bytes and symEOI).
type symset [5]uint64

func (s *symset) add(x int)      { s[x>>6] |= 1 << (x & 63) }
func (s *symset) has(x int) bool { return s[x>>6]&(1<<(x&63)) != 0 }
func (s *symset) or(t *symset) {
	for i := range s {
		s[i] |= t[i]
	}
}

// meets reports whether s and t intersect.
func (s *symset) meets(t *symset) bool {
	for i := range s {
		if s[i]&t[i] != 0 {
			return true
		}
	}
	return false
}

func allSyms() symset {
	var s symset
	for x := 0; x <= symEOI; x++ {
		s.add(x)
	}
	return s
}

// follow describes what comes after an element: set holds every symbol
// the rest of the pattern can start with (a superset), and accept reports
// that the rest always matches, whatever the position (it can match empty
// up to the end of the pattern): then the element's first choice wins.
type follow struct {
	set    symset
	accept bool
}

// firstInfo returns a superset of the symbols re can start a match with,
// and whether re may match empty (for the constructs a detProg compiles,
// both are exact except that first may be larger). Zero-width assertions
// other than `$` count as "may match empty, starts with nothing".
func firstInfo(re *syntax.Regexp) (first symset, nullable bool) {
	switch re.Op {
	case syntax.OpEmptyMatch, syntax.OpBeginText, syntax.OpBeginLine,
		syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return first, true
	case syntax.OpNoMatch:
		return first, false
	case syntax.OpEndText:
		first.add(symEOI)
		return first, false
	case syntax.OpEndLine:
		first.add('\n')
		first.add(symEOI)
		return first, false
	case syntax.OpLiteral:
		if len(re.Rune) == 0 {
			return first, true
		}
		if re.Flags&syntax.FoldCase != 0 {
			return allSyms(), false
		}
		var b [utf8.UTFMax]byte
		utf8.EncodeRune(b[:], re.Rune[0])
		first.add(int(b[0]))
		return first, false
	case syntax.OpCharClass, syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		rs := (&compiler{}).single(re)
		for c := 0; c < utf8.RuneSelf; c++ {
			if rs.ascii[c] {
				first.add(c)
			}
		}
		if len(rs.ranges) > 0 || re.Op != syntax.OpCharClass {
			for c := utf8.RuneSelf; c < 256; c++ {
				first.add(c)
			}
		}
		return first, false
	case syntax.OpCapture:
		return firstInfo(re.Sub[0])
	case syntax.OpStar, syntax.OpQuest:
		first, _ = firstInfo(re.Sub[0])
		return first, true
	case syntax.OpPlus:
		return firstInfo(re.Sub[0])
	case syntax.OpRepeat:
		first, nullable = firstInfo(re.Sub[0])
		return first, nullable || re.Min == 0
	case syntax.OpConcat:
		for _, sub := range re.Sub {
			f, n := firstInfo(sub)
			first.or(&f)
			if !n {
				return first, false
			}
		}
		return first, true
	case syntax.OpAlternate:
		for _, sub := range re.Sub {
			f, n := firstInfo(sub)
			first.or(&f)
			nullable = nullable || n
		}
		return first, nullable
	}
	return allSyms(), true
}

// startOf returns what re followed by fol can start with: re's follow.
func startOf(re *syntax.Regexp, fol follow) follow {
	first, nullable := firstInfo(re)
	if nullable {
		first.or(&fol.set)
	}
	return follow{set: first, accept: nullable && fol.accept && alwaysEmpty(re)}
}

// alwaysEmpty reports whether re matches empty at any position (no
// assertion on the way).
func alwaysEmpty(re *syntax.Regexp) bool {
	switch re.Op {
	case syntax.OpEmptyMatch, syntax.OpStar, syntax.OpQuest:
		return true
	case syntax.OpLiteral:
		return len(re.Rune) == 0
	case syntax.OpCapture, syntax.OpPlus:
		return alwaysEmpty(re.Sub[0])
	case syntax.OpRepeat:
		return re.Min == 0 || alwaysEmpty(re.Sub[0])
	case syntax.OpConcat:
		for _, sub := range re.Sub {
			if !alwaysEmpty(sub) {
				return false
			}
		}
		return true
	case syntax.OpAlternate:
		for _, sub := range re.Sub {
			if alwaysEmpty(sub) {
				return true
			}
		}
	}
	return false
}

type dop uint8

const (
	dLit   dop = iota // lit
	dByte             // one byte of tab (a one-rune class holding no rune >= 0x80)
	dRune             // one rune of tab (a class holding every rune >= 0x80)
	dRun              // tab{min,}, as many bytes as are in tab
	dOpen             // caps[cap] = pos
	dClose            // caps[cap] = pos
	dBegin            // pos == 0
	dEnd              // pos == len
	dPick             // alts[pick[symbol]], or fail when it is -1
	dTry              // alts in order, the first that matches (the rest always matches)
	dField            // [dOpen] dRun [dClose] [dLit] in one step (fuse); cap -1: no group
)

type dstep struct {
	op   dop
	min  int
	cap  int
	stop int // dRun, dField: the only byte outside tab, or -1 (then scan tab)
	lit  []byte
	tab  *[256]bool
	alts []*detProg
	pick *[symEOI + 1]int8
	// dPick: where lpick is >= 0, that alternative (a literal string, see
	// litOrRun) is taken instead when the input starts with its literal
	// followed by a symbol of fol
	lpick *[symEOI + 1]int8
	fol   *symset
}

// detProg is a compiled deterministic stretch of a pattern.
type detProg struct {
	steps []dstep
	slots []int // the caps entries the steps write
	first int   // the byte every match starts with, or -1
}

// detCompiler compiles elements into steps; ok turns false on anything it
// declines.
type detCompiler struct{ ok bool }

// byteTab returns the byte table of a class when every byte >= 0x80 is
// alike (all members or none), with high reporting which.
func byteTab(re *syntax.Regexp) (tab *[256]bool, high bool, ok bool) {
	var rs *runeSet
	switch re.Op {
	case syntax.OpCharClass, syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		rs = (&compiler{}).single(re)
	case syntax.OpLiteral:
		if len(re.Rune) != 1 || re.Flags&syntax.FoldCase != 0 || re.Rune[0] >= utf8.RuneSelf {
			return nil, false, false
		}
		rs = (&compiler{}).single(re)
	default:
		return nil, false, false
	}
	tab = new([256]bool)
	copy(tab[:utf8.RuneSelf], rs.ascii[:utf8.RuneSelf])
	switch {
	case len(rs.ranges) == 0:
		return tab, false, true
	case len(rs.ranges) == 2 && rs.ranges[0] == utf8.RuneSelf && rs.ranges[1] == utf8.MaxRune:
		for c := utf8.RuneSelf; c < 256; c++ {
			tab[c] = true
		}
		return tab, true, true
	}
	return nil, false, false
}

// elem appends the steps of re followed by fol to p.
func (c *detCompiler) elem(p *detProg, re *syntax.Regexp, fol follow, top bool) {
	if !c.ok {
		return
	}
	switch re.Op {
	case syntax.OpEmptyMatch:
	case syntax.OpLiteral:
		if re.Flags&syntax.FoldCase != 0 || len(re.Rune) == 0 {
			c.ok = false
			return
		}
		for _, r := range re.Rune {
			if r == utf8.RuneError {
				c.ok = false // the regexp matches it against invalid bytes too
				return
			}
		}
		if n := len(p.steps); n > 0 && p.steps[n-1].op == dLit {
			p.steps[n-1].lit = append(p.steps[n-1].lit, string(re.Rune)...)
			return
		}
		p.steps = append(p.steps, dstep{op: dLit, lit: []byte(string(re.Rune))})
	case syntax.OpCharClass, syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		tab, high, ok := byteTab(re)
		if !ok {
			c.ok = false
			return
		}
		op := dByte
		if high {
			op = dRune
		}
		p.steps = append(p.steps, dstep{op: op, tab: tab})
	case syntax.OpStar, syntax.OpPlus:
		tab, _, ok := byteTab(re.Sub[0])
		if !ok {
			c.ok = false
			return
		}
		min := 0
		if re.Op == syntax.OpPlus {
			min = 1
		}
		var cls symset
		for b := range 256 {
			if tab[b] {
				cls.add(b)
			}
		}
		switch {
		case !cls.meets(&fol.set):
			// the rest cannot start inside the run: it ends where the
			// class does, greedy or lazy
		case fol.accept && re.Flags&syntax.NonGreedy == 0:
			// the rest always matches: greedy takes all
		case fol.accept && min == 0:
			tab = new([256]bool) // lazy takes nothing
		default:
			c.ok = false
			return
		}
		p.steps = append(p.steps, dstep{op: dRun, tab: tab, min: min, stop: stopByte(tab), cap: -1})
	case syntax.OpCapture:
		p.steps = append(p.steps, dstep{op: dOpen, cap: 2 * re.Cap})
		p.slots = append(p.slots, 2*re.Cap, 2*re.Cap+1)
		c.elem(p, re.Sub[0], fol, false)
		p.steps = append(p.steps, dstep{op: dClose, cap: 2*re.Cap + 1})
	case syntax.OpConcat:
		fols := make([]follow, len(re.Sub))
		f := fol
		for i := len(re.Sub) - 1; i >= 0; i-- {
			fols[i] = f
			f = startOf(re.Sub[i], f)
		}
		for i, sub := range re.Sub {
			c.elem(p, sub, fols[i], top)
		}
	case syntax.OpAlternate:
		c.alt(p, re.Sub, fol)
	case syntax.OpQuest:
		empty := &syntax.Regexp{Op: syntax.OpEmptyMatch}
		if re.Flags&syntax.NonGreedy != 0 {
			c.alt(p, []*syntax.Regexp{empty, re.Sub[0]}, fol)
		} else {
			c.alt(p, []*syntax.Regexp{re.Sub[0], empty}, fol)
		}
	case syntax.OpBeginText, syntax.OpEndText:
		if !top {
			// inside an alternative the empty-match reasoning of alt
			// would not hold
			c.ok = false
			return
		}
		op := dBegin
		if re.Op == syntax.OpEndText {
			op = dEnd
		}
		p.steps = append(p.steps, dstep{op: op})
	default:
		c.ok = false
	}
}

// alt appends an alternation of subs (in priority order) followed by fol.
func (c *detCompiler) alt(p *detProg, subs []*syntax.Regexp, fol follow) {
	st := dstep{op: dPick}
	if fol.accept {
		st.op = dTry
	}
	firsts := make([]symset, len(subs))
	starts := make([]follow, len(subs))
	for i, sub := range subs {
		a := &detProg{first: -1}
		c.elem(a, sub, fol, false)
		if !c.ok {
			return
		}
		st.alts = append(st.alts, a)
		p.slots = append(p.slots, a.slots...)
		firsts[i], _ = firstInfo(sub)
		starts[i] = startOf(sub, fol)
	}
	if st.op == dPick {
		// the first alternative that can start with the symbol, when every
		// later one that can either cannot, or, like it, matches empty
		// there (same position for the rest: the first one's result)
		st.pick = new([symEOI + 1]int8)
		for x := 0; x <= symEOI; x++ {
			st.pick[x] = -1
			for i := range subs {
				if !starts[i].set.has(x) {
					continue
				}
				if st.pick[x] < 0 {
					st.pick[x] = int8(i)
					continue
				}
				if firsts[i].has(x) || firsts[st.pick[x]].has(x) {
					if st.lpick == nil {
						st.lpick = new([symEOI + 1]int8)
						for y := range st.lpick {
							st.lpick[y] = -1
						}
					}
					if st.lpick[x] >= 0 || !litOrRun(subs[st.pick[x]], st.alts[i], &fol) {
						c.ok = false
						return
					}
					st.lpick[x], st.pick[x] = st.pick[x], int8(i)
				}
			}
		}
		if len(subs) > 127 {
			c.ok = false
			return
		}
	}
	if st.lpick != nil {
		set := fol.set
		st.fol = &set
	}
	p.steps = append(p.steps, st)
}

// stopByte returns the only byte outside tab, or -1: a run of `[^ ]`
// ends at the next space, which bytes.IndexByte finds many bytes at a
// time.
func stopByte(tab *[256]bool) int {
	stop := -1
	for b := range 256 {
		if !tab[b] {
			if stop >= 0 {
				return -1
			}
			stop = b
		}
	}
	return stop
}

// fuse rewrites each `[open] run [close] [literal]` of steps into one
// dField step (the commonest shape: a field and its separator), in p and
// in its alternatives.
func (p *detProg) fuse() {
	out := p.steps[:0:0]
	for i := 0; i < len(p.steps); i++ {
		st := p.steps[i]
		for _, a := range st.alts {
			a.fuse()
		}
		j, capi := i, -1
		if st.op == dOpen && j+1 < len(p.steps) && p.steps[j+1].op == dRun &&
			j+2 < len(p.steps) && p.steps[j+2].op == dClose && p.steps[j+2].cap == st.cap+1 {
			capi = st.cap
			j++
		}
		if p.steps[j].op != dRun {
			out = append(out, st)
			continue
		}
		f := p.steps[j]
		f.op, f.cap = dField, capi
		if capi >= 0 {
			j++ // the close
		}
		if j+1 < len(p.steps) && p.steps[j+1].op == dLit {
			f.lit = p.steps[j+1].lit
			j++
		}
		out = append(out, f)
		i = j
	}
	p.steps = out
}

// litOrRun reports whether an alternative lit and a later one, run, can
// both start with a symbol and still be decided there (ALB's `-|[-0-9]*`,
// NLB's `-|(?P<x>[^ ]+)`, followed by a space): lit is a literal string
// and run a single run (in a group or not) whose class holds every byte of
// the literal and nothing the rest can start with. Where the input starts
// with the literal followed by a symbol the rest can start with, both end
// at the same position, so the literal (first in order) wins; anywhere
// else the literal cannot lead to a match and the run decides alone.
func litOrRun(lit *syntax.Regexp, run *detProg, fol *follow) bool {
	if lit.Op != syntax.OpLiteral || lit.Flags&syntax.FoldCase != 0 || len(lit.Rune) == 0 || fol.accept {
		return false
	}
	steps := run.steps
	if len(steps) == 3 && steps[0].op == dOpen && steps[2].op == dClose {
		steps = steps[1:2]
	}
	if len(steps) != 1 || steps[0].op != dRun {
		return false
	}
	tab := steps[0].tab
	for _, b := range []byte(string(lit.Rune)) {
		if !tab[b] {
			return false
		}
	}
	for b := range 256 {
		if tab[b] && fol.set.has(b) {
			return false
		}
	}
	return true
}

// compileDet compiles re followed by fol, or returns nil; top: re is an
// element of the pattern's top-level sequence.
func compileDet(re *syntax.Regexp, fol follow, top bool) *detProg {
	c := &detCompiler{ok: true}
	p := &detProg{first: -1}
	c.elem(p, re, fol, top)
	if !c.ok || len(p.steps) == 0 {
		return nil
	}
	if p.steps[0].op == dLit {
		p.first = int(p.steps[0].lit[0])
	}
	return p
}

// run matches p at pos and returns the end; captures go to s.caps.
func (p *detProg) run(s *mstate, pos int) (int, bool) {
	in := s.in
	for i := range p.steps {
		st := &p.steps[i]
		switch st.op {
		case dLit:
			n := len(st.lit)
			if len(in)-pos < n || string(in[pos:pos+n]) != string(st.lit) {
				return pos, false
			}
			pos += n
		case dByte:
			if pos >= len(in) || !st.tab[in[pos]] {
				return pos, false
			}
			pos++
		case dRune:
			if pos >= len(in) || !st.tab[in[pos]] {
				return pos, false
			}
			if in[pos] < utf8.RuneSelf {
				pos++
			} else {
				_, w := utf8.DecodeRune(in[pos:])
				pos += w
			}
		case dField, dRun:
			a := pos
			if st.stop >= 0 {
				if i := bytes.IndexByte(in[pos:], byte(st.stop)); i >= 0 {
					pos += i
				} else {
					pos = len(in)
				}
			} else {
				tab := st.tab
				for pos < len(in) && tab[in[pos]] {
					pos++
				}
			}
			if pos-a < st.min {
				return pos, false
			}
			if st.cap >= 0 {
				s.caps[st.cap], s.caps[st.cap+1] = a, pos
			}
			if n := len(st.lit); n > 0 {
				if len(in)-pos < n || string(in[pos:pos+n]) != string(st.lit) {
					return pos, false
				}
				pos += n
			}
		case dOpen, dClose:
			s.caps[st.cap] = pos
		case dBegin:
			if pos != 0 {
				return pos, false
			}
		case dEnd:
			if pos != len(in) {
				return pos, false
			}
		case dPick:
			x := symEOI
			if pos < len(in) {
				x = int(in[pos])
			}
			a := st.pick[x]
			if st.lpick != nil {
				if l := st.lpick[x]; l >= 0 {
					lit := st.alts[l].steps[0].lit
					if n := len(lit); len(in)-pos >= n && string(in[pos:pos+n]) == string(lit) && st.fol.has(sym(in, pos+n)) {
						a = l
					}
				}
			}
			if a < 0 {
				return pos, false
			}
			var ok bool
			if pos, ok = st.alts[a].run(s, pos); !ok {
				return pos, false
			}
		case dTry:
			ok := false
			for _, a := range st.alts {
				var end int
				if end, ok = a.run(s, pos); ok {
					pos = end
					break
				}
				for _, j := range a.slots {
					s.caps[j] = -1
				}
			}
			if !ok {
				return pos, false
			}
		}
	}
	return pos, true
}

// detCont returns the continuation that runs p, then k. p's groups are
// cleared first, and again when p or k fails: they occur nowhere else in
// the pattern (compileFast declines duplicated groups) and p is in the
// top-level sequence, not repeated (compileSeq), so on the path that reaches p they are unset, a
// value in them is left over from an attempt that failed, and none may
// outlive a failure of p (the closures restore theirs the same way).
func detCont(p *detProg, k cont) cont {
	return func(s *mstate, pos int) bool {
		for _, j := range p.slots {
			s.caps[j] = -1
		}
		end, ok := p.run(s, pos)
		if s.spend(end-pos) && ok && k(s, end) {
			return true
		}
		for _, j := range p.slots {
			s.caps[j] = -1
		}
		return false
	}
}
