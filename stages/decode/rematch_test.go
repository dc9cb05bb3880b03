package decode

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"syscall"
	"testing"

	"github.com/siemstream/siemstream/schemas"
)

// extraPatterns exercise constructs the shipped log_patterns do not use.
var extraPatterns = []string{
	`^(?:(?P<a>[^ ]*) (?P<b>[0-9]+?)(x|y)*$)`,
	`(?P<k>\w+)=(?P<v>"[^"]*"|\S+)`,
	`^(?:a(bc)+?d|(ab)+c?)`,
	`^(?:(?P<x>.*?)é(?P<y>[^é]+)é?)`,
	`(?m)^(?P<line>[^\n]*)$`,
	`^(?:(a|ab)(c|bcd)(d*))`,
	`^(?:(?P<r>[\p{Greek}]+)(?P<s>.+))`,
	`^(?:(?i)abc)`,
	`(a*)*b`,
	`\bword\b`,
	// a fused field+separator preceded by runs and optional parts (the
	// fused step must not promise its separator as its first byte)
	`^(?:x*(?P<a>[^ ]*) (?P<b>.*))`,
	`^(?:(-|(?P<q>[a-z]+)) ?(?P<r>[^ ]+) (?P<s>\S*))`,
	`^(?:a?(?P<c>[^:]*):(?P<d>[^ ]*?) (e|f)?)`,
	`^(?:[a-z]*?(?P<g>[^ ]+) )`,
	// repeated groups that are not one character (the stack-depth bound)
	`^(?P<a>((?P<b>(x|y))(?P<c>(z|w)))+)(?P<rest>.*)$`,
	`^(?:(ab)+?c)`,
	`^(?:(a|b)*(?P<t>.*))`,
	// deterministic stretches (detscan.go): alternatives that match empty,
	// optional tails at the end (tried in order), `$` after a run, runes
	// of `.`, lazy runs at the end, unanchored patterns
	`^(?:(?P<a>[^ ]*) (?P<b>x|)(?P<c>[^ ]*)$)`,
	`^(?:(a|)(b|)c)`,
	`^(?:(-|(?P<n>[0-9]+)) (?P<r>.*))`,
	`(?P<a>[^"]*)"(?P<b>.)(?P<c>.*?)`,
	`^(?:(?P<a>[a-z]+)(x(?P<b>[0-9]+)y)?)`,
	`^(?:(?P<a>[^\t]*)\t(?P<b>é|[^é\t]*)\t?)`,
	`^(?:(?P<x>[^ ]*)(?: (?P<y>[^ ]*))?(?: (?P<z>[^ ]*))?$)`,
	`^(?:(?P<q>"[^"]*"|-) (?P<w>\w+))`,
	`^(?:(a?)(b?)(?P<t>[^ ]*) $)`,
	`(?P<a>[0-9]+)-(?P<b>[0-9]+)`,
	`^(?:(?P<v>.)(?P<w>[^ ]+) )`,
	`^(?:(?P<a>[^ ]*) ((?P<b>[^ ]+)|-)? (?P<c>[^ ]*?)(?P<d>(?:x|y)?)$)`,
	`^(?:(?P<a>[^ ]+) (?P<b>[^ ]+)( (?P<c>[0-9]+)| (?P<d>[a-z]+))?)`,
	`^(?:(?P<a>[^ ]+)(?P<b> ?)(?P<c>[a-z]*?)(?P<d>[^ ]*))`,
	// a literal alternative before a run holding it (litOrRun)
	`^(?:(?P<a>-|[\-0-9]*) (?P<b>.*))`,
	`^(?:(-|(?P<x>[^ ]+)) (-|(?P<y>[^ ]+))$)`,
	`^(?:(ab|(?P<r>[a-c]+))-)`,
	`^(?:(ab|(?P<r>[a-c]+))(-|$))`,
}

// patterns returns every log_pattern of the built-in registry plus extraPatterns.
func patterns(t testing.TB) []*regexp.Regexp {
	reg, err := schemas.Load(schemas.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var out []*regexp.Regexp
	for _, lt := range reg.Types() {
		for _, re := range []*regexp.Regexp{lt.LogPattern, lt.MultilineFirstline} {
			if re != nil {
				out = append(out, re)
			}
		}
	}
	for _, p := range extraPatterns {
		out = append(out, regexp.MustCompile(p))
	}
	return out
}

// sampleLines returns the records of the text goldens.
func sampleLines(t testing.TB) [][]byte {
	files, _ := filepath.Glob("../../testdata/normalize/*/*.log")
	var lines [][]byte
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			lines = append(lines, slices.Clone(sc.Bytes()))
		}
		fh.Close()
	}
	return append(lines,
		[]byte(""), []byte("abcd"), []byte("ababc"), []byte("abcdd"), []byte("héllo é wörld é"),
		[]byte("x=\"a b\" y=1 z"), []byte("αβγ rest"), []byte("ABC"), []byte("aaab"), []byte("a word here"),
		[]byte("line1\nline2"), []byte("xx 0123x"), []byte("\xff\xfe invalid \xc3"),
		[]byte("xxab cd"), []byte("- abc def"), []byte("abc:de f"), []byte("xab:cd e"), []byte("abc def "),
		[]byte("ab c"), []byte("abc"), []byte("bc"), []byte("c"), []byte("- rest of line"), []byte("123 rest"),
		[]byte("xx\"é.tail"), []byte("\"€"), []byte("abcx12y"), []byte("abcx12"), []byte("abcx"), []byte("a\tb\t"),
		[]byte("a\té\t"), []byte("a\tée\t"), []byte("p q r"), []byte("p q"), []byte("p"), []byte("\"q z\" word"),
		[]byte("- w"), []byte(" $"), []byte("ab  "), []byte("b "), []byte("id 12-34 end"), []byte("é€ x "), []byte("€ "),
		[]byte("a - x"), []byte("a b cdy"), []byte("a  "), []byte("a b 12"), []byte("a b zz"), []byte("a b  "),
		[]byte("a\xff b \xc3"), []byte("\xe2\x82 x"), []byte("- x"), []byte("-5 x"), []byte("--"), []byte("- - "),
		[]byte("- -"), []byte("-- -x"), []byte("ab-"), []byte("abc-"), []byte("ab"), []byte("a-"), []byte("abab-"))
}

func checkSame(t *testing.T, re *regexp.Regexp, in []byte) {
	t.Helper()
	f := fastFor(re)
	if f == nil {
		return
	}
	want := re.FindSubmatchIndex(in)
	got, ok := f.match(&mstate{}, in)
	if !ok {
		return // budget spent: the regexp decides
	}
	if !slices.Equal(got, want) {
		t.Fatalf("pattern %q on %q:\n fast   %v\n regexp %v", re.String(), in, got, want)
	}
}

func TestFastREMatchesRegexp(t *testing.T) {
	res := patterns(t)
	lines := sampleLines(t)
	supported := 0
	for _, re := range res {
		if fastFor(re) == nil {
			t.Logf("left to the regexp: %.80s", re.String())
			continue
		}
		supported++
		for _, l := range lines {
			checkSame(t, re, l)
			// truncated and mutated lines take the failure paths
			for _, cut := range []int{len(l) / 3, len(l) / 2, len(l) - 1} {
				if cut > 0 && cut < len(l) {
					checkSame(t, re, l[:cut])
				}
			}
		}
	}
	if supported < len(res)/2 {
		t.Errorf("only %d of %d patterns supported", supported, len(res))
	}
	for _, name := range []string{"alb", "nlb", "clb", "s3accesslog", "cloudfront-standard"} {
		reg, _ := schemas.Load(schemas.Options{})
		if lt := reg.Lookup(name); lt != nil && fastFor(lt.LogPattern) == nil {
			t.Errorf("%s log_pattern not supported by fastRE", name)
		}
	}
}

// TestDetMatchesClosures: the matcher with deterministic stretches and the
// one made of closures only agree with each other and with the regexp
// (including no match), on every pattern and sample line; the shipped
// ELB, S3 and CloudFront patterns are mostly deterministic.
func TestDetMatchesClosures(t *testing.T) {
	lines := sampleLines(t)
	for _, re := range patterns(t) {
		det, clos := compileFastDet(re.String(), true), compileFastDet(re.String(), false)
		if det == nil {
			continue
		}
		for _, l := range lines {
			for _, in := range [][]byte{l, l[:len(l)/2], append(slices.Clone(l), ' ')} {
				want := re.FindSubmatchIndex(in)
				got, ok := det.match(&mstate{}, in)
				if !ok {
					continue
				}
				if !slices.Equal(got, want) {
					t.Fatalf("pattern %q on %q:\n det    %v\n regexp %v", re, in, got, want)
				}
				if got2, ok := clos.match(&mstate{}, in); ok && !slices.Equal(got2, want) {
					t.Fatalf("closures: pattern %q on %q:\n %v\n regexp %v", re, in, got2, want)
				}
			}
		}
	}
	reg, _ := schemas.Load(schemas.Options{})
	for name, min := range map[string]int{"alb": 40, "nlb": 30, "clb": 25, "s3accesslog": 30, "cloudfront-standard": 45} {
		f := fastFor(reg.Lookup(name).LogPattern)
		t.Logf("%s: %d top-level elements deterministic", name, f.ndet)
		if f.ndet < min {
			t.Errorf("%s: %d deterministic elements, want >= %d", name, f.ndet, min)
		}
	}
}

func TestFastREBudget(t *testing.T) {
	re := regexp.MustCompile(`^(?:(x+x+)+y)`)
	in := []byte("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx")
	if got := findSubmatchIndex(re, in, nil); got != nil {
		t.Fatalf("got %v", got)
	}
	if f := fastFor(re); f != nil {
		if _, ok := f.match(&mstate{}, in); ok {
			t.Fatal("exponential pattern finished within the budget")
		}
	}
}

func FuzzFastRE(f *testing.F) {
	res := patterns(f)
	for _, l := range sampleLines(f) {
		f.Add(l, uint8(0))
	}
	f.Add([]byte("xz"), uint8(0x80))
	f.Add([]byte("ab"), uint8(0x81))
	f.Add([]byte(" "), uint8(0x82))
	f.Fuzz(func(t *testing.T, in []byte, which uint8) {
		if which&0x80 != 0 && len(in) > 0 {
			// long input: the fuzzed bytes repeated past maxLoopDepth
			// iterations, checked through findSubmatchIndex (fast
			// matcher, or the regexp after it gives up) against regexp
			in = bytes.Repeat(in, (4*maxLoopDepth)/len(in)+1)
			for i := range res {
				if i%4 == int(which)%4 {
					want := res[i].FindSubmatchIndex(in)
					if got := findSubmatchIndex(res[i], in, nil); !slices.Equal(got, want) {
						t.Fatalf("pattern %q on %d bytes: %v, regexp %v", res[i], len(in), got, want)
					}
				}
			}
			return
		}
		for i := range res {
			if i%4 == int(which)%4 {
				checkSame(t, res[i], in)
			}
		}
	})
}

// FuzzDetScan: for each pattern (which picks it), the matcher with
// deterministic stretches, the closures-only matcher and the regexp give
// the same offsets, no match included. Seeds are every sample line for
// every pattern.
func FuzzDetScan(f *testing.F) {
	res := patterns(f)
	det := make([]*fastRE, len(res))
	clos := make([]*fastRE, len(res))
	for i, re := range res {
		det[i], clos[i] = compileFastDet(re.String(), true), compileFastDet(re.String(), false)
	}
	for j, l := range sampleLines(f) {
		f.Add(l, uint16(j*7)) // some pattern
		for i, re := range res {
			// and a third of the patterns it matches (its own type's)
			if (i+j)%3 == 0 && re.Match(l) {
				f.Add(l, uint16(i))
			}
		}
	}
	f.Fuzz(func(t *testing.T, in []byte, which uint16) {
		i := int(which) % len(res)
		if det[i] == nil {
			return
		}
		want := res[i].FindSubmatchIndex(in)
		if got, ok := det[i].match(&mstate{}, in); ok && !slices.Equal(got, want) {
			t.Fatalf("pattern %q on %q:\n det    %v\n regexp %v", res[i], in, got, want)
		}
		if got, ok := clos[i].match(&mstate{}, in); ok && !slices.Equal(got, want) {
			t.Fatalf("closures: pattern %q on %q:\n %v\n regexp %v", res[i], in, got, want)
		}
	})
}

// cpuNanos is the process's CPU time (user+system): on a loaded machine
// the benchmarks report cpu-ns/op beside the wall-clock ns/op.
func cpuNanos() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// BenchmarkPattern matches the first line of each text golden against
// its log type's log_pattern, with the regexp and with fastRE.
func BenchmarkPattern(b *testing.B) {
	reg, _ := schemas.Load(schemas.Options{})
	for _, c := range []struct{ typ, file string }{
		{"alb", "alb/web-prod.log"},
		{"clb", "clb/classic-web.log"},
		{"nlb", "nlb/tls-front.log"},
		{"s3accesslog", "s3accesslog/server-access.log"},
		{"cloudfront-standard", "cloudfront-standard/distribution.log"},
	} {
		lt := reg.Lookup(c.typ)
		data, err := os.ReadFile("../../testdata/normalize/" + c.file)
		if lt == nil || err != nil {
			b.Logf("%s: no sample (%v)", c.typ, err)
			continue
		}
		var line []byte
		for l := range bytes.Lines(data) {
			l = bytes.TrimRight(l, "\r\n")
			if len(l) > 0 && l[0] != '#' && lt.LogPattern.Match(l) {
				line = l
				break
			}
		}
		if line == nil {
			b.Logf("%s: no matching line", c.typ)
			continue
		}
		re := lt.LogPattern
		run := func(b *testing.B, f func()) {
			c0 := cpuNanos()
			for b.Loop() {
				f()
			}
			b.ReportMetric(float64(cpuNanos()-c0)/float64(b.N), "cpu-ns/op")
		}
		b.Run(c.typ+"/regexp", func(b *testing.B) { run(b, func() { re.FindSubmatchIndex(line) }) })
		var dst []int
		b.Run(c.typ+"/fast", func(b *testing.B) { run(b, func() { dst = findSubmatchIndex(re, line, dst) }) })
		clos := compileFastDet(re.String(), false)
		s := &mstate{}
		b.Run(c.typ+"/closures", func(b *testing.B) { run(b, func() { clos.match(s, line) }) })
	}
}
