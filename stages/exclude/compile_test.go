package exclude

import (
	"regexp"
	"regexp/syntax"
	"strings"
	"testing"
)

// TestNewRuleCompilesOnce: a regex rule costs one regexp compilation (of
// the anchored form) plus the parse of the pattern that its literal
// prefilter needs anyway; checking the pattern on its own reuses that parse
// instead of compiling it a second time. Counted in allocations: what
// NewRule makes beyond the compilation and the parse is less than what
// compiling the pattern once more would make.
func TestNewRuleCompilesOnce(t *testing.T) {
	for _, p := range []string{
		`192\.0\.2\.\d+`,
		`.*(siem-es-loader|aws-internal|AWSConfig)/[0-9.]+ .*`,
		`(Describe|List|Get)[A-Z][a-zA-Z]+`,
	} {
		compile := func(expr string) float64 {
			return testing.AllocsPerRun(20, func() { regexp.MustCompile(expr) })
		}
		once := compile(`^(?:` + p + `\n?\z)`)
		parse := testing.AllocsPerRun(20, func() {
			tree, err := syntax.Parse(p, syntax.Perl)
			if err != nil {
				t.Fatal(err)
			}
			literalsOf(tree)
		})
		rule := testing.AllocsPerRun(20, func() {
			if _, err := NewRule("cloudtrail", "eventName", p, false, "test"); err != nil {
				t.Fatal(err)
			}
		})
		extra, second := rule-once-parse, compile(p)
		t.Logf("%s: NewRule %v allocs = compilation %v + parse %v + %v", p, rule, once, parse, extra)
		if extra >= second {
			t.Errorf("%s: NewRule makes %v allocations beyond one compilation and the parse, a second compilation makes %v",
				p, extra, second)
		}
	}
}

// BenchmarkNewRule is the cost of one CSV row's regex rule.
func BenchmarkNewRule(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := NewRule("cloudtrail", "userAgent", `.*(siem-es-loader|aws-internal|AWSConfig)/[0-9.]+ .*`, false, "bench"); err != nil {
			b.Fatal(err)
		}
	}
}

// TestNewRuleRefusesUnbalanced: a pattern whose groups balance only once
// wrapped ("a)|(b" in "^(?:a)|(b\n?\z)") is refused, not given a new
// meaning, with regexp's own message.
func TestNewRuleRefusesUnbalanced(t *testing.T) {
	for p, want := range map[string]string{
		`a)|(b`: "unexpected )",
		`(a`:    "missing closing )",
	} {
		_, err := NewRule("cloudtrail", "eventName", p, false, "test")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want an error with %q", p, err, want)
		}
	}
}
