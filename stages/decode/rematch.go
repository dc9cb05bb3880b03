package decode

import (
	"regexp"
	"regexp/syntax"
	"sync"
	"unicode/utf8"

	"github.com/siemstream/siemstream/internal/doc"
	"github.com/siemstream/siemstream/stages"
)

// fastRE is a backtracking matcher for the subset of regular expressions
// that log_patterns use (literals, character classes, captures, greedy and
// lazy repetition of sub-expressions that cannot match empty, alternation,
// ^ and $). It returns exactly what regexp.FindSubmatchIndex returns: Go's
// regexp picks, among the leftmost matches, the one a backtracking
// implementation would pick, and that is what fastRE is.
//
// Go's regexp runs long patterns (the 40-group ELB patterns) on its NFA,
// about 20 µs a line; fastRE walks a tree of closures compiled once per
// pattern and typically finishes in well under a microsecond. The
// regexp stays the reference: a pattern outside the subset compiles to
// nil, and a match that backtracks more than a budget proportional to the
// line's length is abandoned and handed to the regexp (so a pathological
// line costs at most a bounded detour, never exponential time).
type fastRE struct {
	start    cont
	ncap     int
	anchored bool // starts with \A: try position 0 only
	ndet     int  // top-level elements matched by detProgs (detscan.go)
}

// cont matches the rest of the pattern at pos and reports success.
type cont func(s *mstate, pos int) bool

type mstate struct {
	in     []byte
	caps   []int
	stack  []int
	steps  int
	budget int
	abort  bool
	depth  int // iterations of repeated sub-expressions on the call stack
	// matchText's cache: the plan of the last log_pattern
	re   *regexp.Regexp
	plan *patternPlan
}

// maxLoopDepth bounds the iterations of a repeated sub-expression that is
// not a single character (`(\s|T)+`, `(?:ab)*`, nested captures) that one
// match may have on the goroutine stack: each iteration is a few nested
// calls, so a 1 MB line of such iterations took 520 MiB of stack (and with
// nested captures overflowed the 1 GB limit, killing the process). Past
// it the match is handed to the regexp, whose memory does not grow with
// the line.
const maxLoopDepth = 2048

var mstatePool = sync.Pool{New: func() any { return &mstate{} }}

// plans caches, per log_pattern, the compiled matcher and the hashes of
// the group names.
var plans sync.Map // *regexp.Regexp -> *patternPlan

type patternPlan struct {
	fast   *fastRE // nil: outside the subset, the regexp matches
	names  []string
	hashes []uint32
	unique bool // no group name repeats: fields can be appended blindly
	// the named groups (not 0, not unnamed) and their names as the keys
	// of flat records (flat.go)
	groups []int
	keys   *stages.FlatKeys
}

func planFor(re *regexp.Regexp) *patternPlan {
	if v, ok := plans.Load(re); ok {
		return v.(*patternPlan)
	}
	p := &patternPlan{fast: compileFast(re.String()), names: re.SubexpNames(), unique: true}
	seen := map[string]bool{}
	for _, n := range p.names {
		p.hashes = append(p.hashes, doc.HashKey(n))
		if n != "" && seen[n] {
			p.unique = false
		}
		seen[n] = true
	}
	p.keys = &stages.FlatKeys{}
	for g, n := range p.names {
		if g == 0 || n == "" {
			continue
		}
		p.groups = append(p.groups, g)
		p.keys.Names = append(p.keys.Names, n)
		p.keys.Hashes = append(p.keys.Hashes, p.hashes[g])
	}
	v, _ := plans.LoadOrStore(re, p) // one plan (one FlatKeys) per pattern
	return v.(*patternPlan)
}

func fastFor(re *regexp.Regexp) *fastRE { return planFor(re).fast }

// findSubmatchIndex is re.FindSubmatchIndex(b) with the result appended to
// dst[:0] (nil when there is no match).
func findSubmatchIndex(re *regexp.Regexp, b []byte, dst []int) []int {
	if f := fastFor(re); f != nil {
		s := mstatePool.Get().(*mstate)
		m, ok := f.match(s, b)
		if ok && m != nil {
			dst = append(dst[:0], m...)
		}
		mstatePool.Put(s)
		if ok {
			if m == nil {
				return nil
			}
			return dst
		}
	}
	m := re.FindSubmatchIndex(b)
	if m == nil {
		return nil
	}
	return append(dst[:0], m...)
}

// compileFast returns the matcher for expr, or nil when expr uses
// something outside the supported subset.
func compileFast(expr string) *fastRE { return compileFastDet(expr, true) }

// compileFastDet is compileFast with the deterministic stretches
// (detscan.go) compiled into detProgs or, det false, all closures (the
// tests and benchmarks compare both).
func compileFastDet(expr string, det bool) *fastRE {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return nil
	}
	re = re.Simplify()
	c := &compiler{}
	f := &fastRE{ncap: re.MaxCap() + 1}
	f.anchored = startsWithBeginText(re)
	accept := func(s *mstate, pos int) bool {
		s.caps[1] = pos
		return true
	}
	if !det || dupCaps(re, map[int]bool{}) {
		all := allSyms()
		f.start, _ = c.compile(re, accept, -1, &all)
	} else {
		f.start, f.ndet = c.compileTop(re, accept)
	}
	if c.bad {
		return nil
	}
	return f
}

// compileTop compiles re, its top-level sequence with compileSeq.
func (c *compiler) compileTop(re *syntax.Regexp, accept cont) (m cont, ndet int) {
	subs := []*syntax.Regexp{re}
	if re.Op == syntax.OpConcat {
		subs = re.Sub
	}
	m, _ = c.compileSeq(subs, accept, -1, follow{set: allSyms(), accept: true}, true)
	return m, c.ndet
}

// compileSeq compiles the sequence subs followed by k (kfirst, fol: what k
// needs and can start with): maximal stretches of elements with one way
// to match (detscan.go) become one detProg each, the rest closures. top:
// subs is the pattern's top-level sequence (`^`, `$` may be in a stretch).
func (c *compiler) compileSeq(subs []*syntax.Regexp, k cont, kfirst int, fol follow, top bool) (m cont, first int) {
	var pend []*detProg // the current stretch, last element first
	flush := func() {
		if len(pend) == 0 {
			return
		}
		p := &detProg{first: -1}
		for i := len(pend) - 1; i >= 0; i-- {
			for _, st := range pend[i].steps {
				if n := len(p.steps); n > 0 && st.op == dLit && p.steps[n-1].op == dLit {
					p.steps[n-1].lit = append(p.steps[n-1].lit[:len(p.steps[n-1].lit):len(p.steps[n-1].lit)], st.lit...)
					continue
				}
				p.steps = append(p.steps, st)
			}
			p.slots = append(p.slots, pend[i].slots...)
		}
		if p.steps[0].op == dLit {
			p.first = int(p.steps[0].lit[0])
		}
		p.fuse()
		k, kfirst = detCont(p, k), p.first
		pend = pend[:0]
	}
	for i := len(subs) - 1; i >= 0; i-- {
		// Only the top-level sequence: stretches nested in closures
		// (inside ALB's "request", say) measured slower than the closures
		// they replace (short stretches cost their entry and exit).
		if p := compileDet(subs[i], fol, top); p != nil {
			pend = append(pend, p)
			c.ndet++
		} else {
			flush()
			ks := fol.set
			if i+1 < len(subs) {
				// k matches subs[i+1:]: fuse a field and its separator
				if f := c.fuse(subs[i], subs[i+1], k, kfirst, &ks); f != nil {
					k, kfirst = f, -1
					fol = startOf(subs[i], fol)
					continue
				}
			}
			k, kfirst = c.compile(subs[i], k, kfirst, &ks)
		}
		fol = startOf(subs[i], fol)
	}
	flush()
	return k, kfirst
}

// dupCaps reports whether a capture group occurs twice in re (Simplify
// copies the groups of a counted repetition).
func dupCaps(re *syntax.Regexp, seen map[int]bool) bool {
	if re.Op == syntax.OpCapture {
		if seen[re.Cap] {
			return true
		}
		seen[re.Cap] = true
	}
	for _, sub := range re.Sub {
		if dupCaps(sub, seen) {
			return true
		}
	}
	return false
}

func startsWithBeginText(re *syntax.Regexp) bool {
	for {
		switch re.Op {
		case syntax.OpBeginText:
			return true
		case syntax.OpConcat, syntax.OpCapture:
			if len(re.Sub) == 0 {
				return false
			}
			re = re.Sub[0]
		default:
			return false
		}
	}
}

// match runs the matcher with state s; m aliases s (valid until s is
// reused) and is nil when nothing matches; ok=false means "ask the regexp"
// (budget spent).
func (f *fastRE) match(s *mstate, in []byte) (m []int, ok bool) {
	n := 2 * f.ncap
	if cap(s.caps) < n {
		s.caps = make([]int, n)
	}
	s.caps = s.caps[:n]
	s.in = in
	s.steps, s.budget, s.abort, s.depth = 0, 256+64*len(in), false, 0
	s.stack = s.stack[:0]
	for pos := 0; pos <= len(in); {
		for i := range s.caps {
			s.caps[i] = -1
		}
		s.caps[0] = pos
		if f.start(s, pos) && !s.abort { // an aborted branch may have ended a repetition early
			s.in = nil
			return s.caps, true
		}
		if s.abort {
			s.in = nil
			return nil, false
		}
		if f.anchored || pos == len(in) {
			break
		}
		_, w := decodeRune(in, pos)
		pos += w
	}
	s.in = nil
	return nil, true
}

// spend counts n bytes scanned by a run against the budget, so that the
// budget bounds the total work, not only the backtracking decisions.
func (s *mstate) spend(n int) bool {
	s.steps += n >> 3
	return s.step()
}

func (s *mstate) step() bool {
	s.steps++
	if s.steps > s.budget || s.abort {
		s.abort = true
		return false
	}
	return true
}

func decodeRune(in []byte, pos int) (rune, int) {
	if c := in[pos]; c < utf8.RuneSelf {
		return rune(c), 1
	}
	return utf8.DecodeRune(in[pos:])
}

type compiler struct {
	bad  bool
	ndet int // elements in deterministic stretches (compileSeq)
}

// runeSet tests one rune against a literal, a class or "any".
type runeSet struct {
	ascii  [256]bool // ASCII runes in the set (bytes >= 0x80: false)
	ranges []rune    // pairs, for runes >= 0x80
}

func (rs *runeSet) has(r rune) bool {
	if r < utf8.RuneSelf {
		return rs.ascii[r]
	}
	for i := 0; i+1 < len(rs.ranges); i += 2 {
		if r < rs.ranges[i] {
			return false
		}
		if r <= rs.ranges[i+1] {
			return true
		}
	}
	return false
}

func newRuneSet(pairs []rune) *runeSet {
	rs := &runeSet{}
	for i := 0; i+1 < len(pairs); i += 2 {
		lo, hi := pairs[i], pairs[i+1]
		for r := lo; r <= hi && r < utf8.RuneSelf; r++ {
			rs.ascii[r] = true
		}
		if hi >= utf8.RuneSelf {
			rs.ranges = append(rs.ranges, max(lo, utf8.RuneSelf), hi)
		}
	}
	return rs
}

// single returns the rune set when re matches exactly one rune.
func (c *compiler) single(re *syntax.Regexp) *runeSet {
	switch re.Op {
	case syntax.OpCharClass:
		return newRuneSet(re.Rune)
	case syntax.OpAnyCharNotNL:
		return newRuneSet([]rune{0, '\n' - 1, '\n' + 1, utf8.MaxRune})
	case syntax.OpAnyChar:
		return newRuneSet([]rune{0, utf8.MaxRune})
	case syntax.OpLiteral:
		if len(re.Rune) == 1 && re.Flags&syntax.FoldCase == 0 {
			return newRuneSet([]rune{re.Rune[0], re.Rune[0]})
		}
	}
	return nil
}

// canBeEmpty reports whether re may match the empty string (conservative:
// true when unsure).
func canBeEmpty(re *syntax.Regexp) bool {
	switch re.Op {
	case syntax.OpLiteral:
		return len(re.Rune) == 0
	case syntax.OpCharClass, syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		return false
	case syntax.OpCapture:
		return canBeEmpty(re.Sub[0])
	case syntax.OpPlus:
		return canBeEmpty(re.Sub[0])
	case syntax.OpConcat:
		for _, s := range re.Sub {
			if !canBeEmpty(s) {
				return false
			}
		}
		return true
	case syntax.OpAlternate:
		for _, s := range re.Sub {
			if canBeEmpty(s) {
				return true
			}
		}
		return false
	}
	return true
}

// compile returns the matcher of re followed by k. kfirst is the byte that
// k needs at its position (-1: unknown); first is the same for the result.
// ks holds every symbol k can start with (a superset: detscan.go), so that
// runs try k only where it can match.
func (c *compiler) compile(re *syntax.Regexp, k cont, kfirst int, ks *symset) (m cont, first int) {
	if c.bad {
		return nil, -1
	}
	switch re.Op {
	case syntax.OpEmptyMatch:
		return k, kfirst
	case syntax.OpNoMatch:
		return func(*mstate, int) bool { return false }, -1
	case syntax.OpLiteral:
		if re.Flags&syntax.FoldCase != 0 || len(re.Rune) == 0 {
			c.bad = true
			return nil, -1
		}
		for _, r := range re.Rune {
			if r == utf8.RuneError {
				c.bad = true // the regexp matches it against invalid bytes too
				return nil, -1
			}
		}
		lit := []byte(string(re.Rune))
		if len(lit) == 1 {
			b := lit[0]
			return func(s *mstate, pos int) bool {
				return pos < len(s.in) && s.in[pos] == b && k(s, pos+1)
			}, int(b)
		}
		return func(s *mstate, pos int) bool {
			if len(s.in)-pos < len(lit) || string(s.in[pos:pos+len(lit)]) != string(lit) {
				return false
			}
			return k(s, pos+len(lit))
		}, int(lit[0])
	case syntax.OpCharClass, syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		rs := c.single(re)
		return func(s *mstate, pos int) bool {
			if pos >= len(s.in) {
				return false
			}
			r, w := decodeRune(s.in, pos)
			return rs.has(r) && k(s, pos+w)
		}, -1
	case syntax.OpBeginText:
		return func(s *mstate, pos int) bool { return pos == 0 && k(s, pos) }, kfirst
	case syntax.OpEndText:
		return func(s *mstate, pos int) bool { return pos == len(s.in) && k(s, pos) }, -1
	case syntax.OpBeginLine:
		return func(s *mstate, pos int) bool {
			return (pos == 0 || s.in[pos-1] == '\n') && k(s, pos)
		}, kfirst
	case syntax.OpEndLine:
		return func(s *mstate, pos int) bool {
			return (pos == len(s.in) || s.in[pos] == '\n') && k(s, pos)
		}, -1
	case syntax.OpCapture:
		i := 2 * re.Cap
		inner, first := c.compile(re.Sub[0], func(s *mstate, pos int) bool {
			old := s.caps[i+1]
			s.caps[i+1] = pos
			if k(s, pos) {
				return true
			}
			s.caps[i+1] = old
			return false
		}, kfirst, ks)
		return func(s *mstate, pos int) bool {
			old := s.caps[i]
			s.caps[i] = pos
			if inner(s, pos) {
				return true
			}
			s.caps[i] = old
			return false
		}, first
	case syntax.OpConcat:
		next, nf := k, kfirst
		fol := follow{set: *ks}
		for j := len(re.Sub) - 1; j >= 0; j-- {
			if j+1 < len(re.Sub) {
				if f := c.fuse(re.Sub[j], re.Sub[j+1], next, nf, &fol.set); f != nil {
					// next already matches re.Sub[j+1]: f matches both
					next, nf = f, -1
					fol = startOf(re.Sub[j], fol)
					continue
				}
			}
			jks := fol.set
			next, nf = c.compile(re.Sub[j], next, nf, &jks)
			fol = startOf(re.Sub[j], fol)
		}
		return next, nf
	case syntax.OpAlternate:
		alts := make([]cont, len(re.Sub))
		first := -2
		for j, sub := range re.Sub {
			var f int
			alts[j], f = c.compile(sub, k, kfirst, ks)
			if first == -2 {
				first = f
			} else if f != first {
				first = -1
			}
		}
		return func(s *mstate, pos int) bool {
			for _, a := range alts {
				if !s.step() {
					return false
				}
				if a(s, pos) {
					return true
				}
			}
			return false
		}, first
	case syntax.OpQuest:
		sub, f := c.compile(re.Sub[0], k, kfirst, ks)
		if f != kfirst {
			f = -1
		}
		if re.Flags&syntax.NonGreedy != 0 {
			return func(s *mstate, pos int) bool {
				return s.step() && (k(s, pos) || sub(s, pos))
			}, f
		}
		return func(s *mstate, pos int) bool {
			return s.step() && (sub(s, pos) || k(s, pos))
		}, f
	case syntax.OpStar, syntax.OpPlus:
		min := 0
		if re.Op == syntax.OpPlus {
			min = 1
		}
		lazy := re.Flags&syntax.NonGreedy != 0
		if rs := c.single(re.Sub[0]); rs != nil {
			if lazy {
				return lazyRun(rs, min, k, kfirst, ks), -1
			}
			return greedyRun(rs, min, k, kfirst, ks), -1
		}
		if canBeEmpty(re.Sub[0]) {
			c.bad = true // empty iterations: leave them to the regexp
			return nil, -1
		}
		var loop cont
		// next iteration: one level deeper on the stack, bounded
		again := func(s *mstate, pos int) bool {
			if s.depth >= maxLoopDepth {
				s.abort = true
				return false
			}
			s.depth++
			ok := loop(s, pos)
			s.depth--
			return ok
		}
		all := allSyms()
		body, _ := c.compile(re.Sub[0], again, -1, &all)
		if lazy {
			loop = func(s *mstate, pos int) bool { return s.step() && (k(s, pos) || body(s, pos)) }
		} else {
			loop = func(s *mstate, pos int) bool { return s.step() && (body(s, pos) || k(s, pos)) }
		}
		if min == 1 {
			return body, -1
		}
		return loop, -1
	}
	c.bad = true
	return nil, -1
}

// fuse handles the commonest log_pattern step, a named field followed by a
// separator, e.g. `(?P<elb>[^ ]*) `, in one call instead of four: when the
// separator's first byte is ASCII and outside the field's class, the field
// can only end where the class stops (greedy or lazy alike). cap is the
// capture, lit the literal after it; rest matches lit and what follows,
// so when the fast case does not apply (a multi-byte rune in the run) the
// general matchers run. It returns nil when the shape does not fit.
func (c *compiler) fuse(cap, lit *syntax.Regexp, rest cont, restFirst int, restSet *symset) cont {
	if cap.Op != syntax.OpCapture || lit.Op != syntax.OpLiteral || lit.Flags&syntax.FoldCase != 0 ||
		len(lit.Rune) == 0 || lit.Rune[0] >= utf8.RuneSelf {
		return nil
	}
	run := cap.Sub[0]
	if run.Op != syntax.OpStar && run.Op != syntax.OpPlus {
		return nil
	}
	rs := c.single(run.Sub[0])
	if rs == nil || rs.has(lit.Rune[0]) {
		return nil
	}
	min := 0
	if run.Op == syntax.OpPlus {
		min = 1
	}
	general, _ := c.compile(cap, rest, restFirst, restSet)
	if c.bad {
		return nil
	}
	i := 2 * cap.Cap
	fb := byte(lit.Rune[0])
	return func(s *mstate, pos int) bool {
		in := s.in
		end := pos
		for end < len(in) && rs.ascii[in[end]] {
			end++
		}
		if !s.spend(end - pos) {
			return false
		}
		if end < len(in) && in[end] >= utf8.RuneSelf {
			return general(s, pos)
		}
		if end < pos+min || end >= len(in) || in[end] != fb {
			return false
		}
		o0, o1 := s.caps[i], s.caps[i+1]
		s.caps[i], s.caps[i+1] = pos, end
		if rest(s, end) {
			return true
		}
		s.caps[i], s.caps[i+1] = o0, o1
		return false
	}
}

// startSet is where the continuation can start: kfirst alone (when it
// needs one byte and ks allows it), else every symbol of ks.
func startSet(kfirst int, ks *symset) symset {
	if kfirst < 0 {
		return *ks
	}
	var set symset
	if ks.has(kfirst) {
		set.add(kfirst)
	}
	return set
}

// greedyRun matches rs{min,} greedily: take as many runes as possible,
// then give them back one at a time. kfirst (>= 0) is the byte k needs and
// ks the symbols k can start with: positions without them are skipped, and
// when no ASCII rune of rs is in ks only the end of the run can be
// followed by k.
func greedyRun(rs *runeSet, min int, k cont, kfirst int, ks *symset) cont {
	set := startSet(kfirst, ks)
	only := true
	for b := range utf8.RuneSelf {
		if rs.ascii[b] && set.has(b) {
			only = false
		}
	}
	return func(s *mstate, pos int) bool {
		in := s.in
		end := pos
		for end < len(in) && rs.ascii[in[end]] {
			end++
		}
		if !s.spend(end - pos) {
			return false
		}
		if end < len(in) && in[end] >= utf8.RuneSelf {
			return greedyRunSlow(s, rs, min, k, &set, pos, end)
		}
		if only {
			return end >= pos+min && set.has(sym(in, end)) && k(s, end)
		}
		for p := end; p >= pos+min; p-- {
			if !set.has(sym(in, p)) {
				continue
			}
			if !s.step() {
				return false
			}
			if k(s, p) {
				return true
			}
		}
		return false
	}
}

// sym is the symbol at pos: the byte, or symEOI at the end.
func sym(in []byte, pos int) int {
	if pos < len(in) {
		return int(in[pos])
	}
	return symEOI
}

// greedyRunSlow continues greedyRun at end (runes before it are ASCII)
// through multi-byte runes, remembering rune starts on s.stack.
func greedyRunSlow(s *mstate, rs *runeSet, min int, k cont, set *symset, pos, end int) bool {
	base := len(s.stack)
	for p := pos; p < end; p++ {
		s.stack = append(s.stack, p)
	}
	for end < len(s.in) {
		r, w := decodeRune(s.in, end)
		if !rs.has(r) {
			break
		}
		s.stack = append(s.stack, end)
		end += w
	}
	s.stack = append(s.stack, end)
	if !s.spend(end - pos) {
		s.stack = s.stack[:base]
		return false
	}
	// s.stack[base+i] is the position after i runes
	ok := false
	for i := len(s.stack) - 1 - base; i >= min; i-- {
		if !set.has(sym(s.in, s.stack[base+i])) {
			continue
		}
		if !s.step() {
			break
		}
		if k(s, s.stack[base+i]) {
			ok = true
			break
		}
	}
	s.stack = s.stack[:base]
	return ok
}

// lazyRun matches rs{min,} lazily: as few runes as possible first, trying
// k only where it can start (kfirst, ks as for greedyRun).
func lazyRun(rs *runeSet, min int, k cont, kfirst int, ks *symset) cont {
	set := startSet(kfirst, ks)
	// skip[b]: an ASCII rune of rs where k cannot start, passed over in
	// a tight loop once min runes are taken
	skip := new([256]bool)
	for b := range utf8.RuneSelf {
		skip[b] = rs.ascii[b] && !set.has(b)
	}
	return func(s *mstate, pos int) bool {
		in := s.in
		n, from := 0, pos
		for {
			if n >= min {
				for pos < len(in) && skip[in[pos]] {
					pos++
				}
			}
			if n >= min && set.has(sym(in, pos)) {
				if !s.spend(pos-from) || !s.step() {
					return false
				}
				from = pos
				if k(s, pos) {
					return true
				}
			}
			if pos >= len(in) {
				return false
			}
			if c := in[pos]; c < utf8.RuneSelf {
				if !rs.ascii[c] {
					return false
				}
				pos++
			} else {
				r, w := decodeRune(in, pos)
				if !rs.has(r) {
					return false
				}
				pos += w
			}
			n++
		}
	}
}
