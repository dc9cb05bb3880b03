package exclude

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestRequiredLiterals(t *testing.T) {
	for _, tc := range []struct {
		pattern string
		want    []string // nil: no prefilter
	}{
		{`192\.0\.2\.\d+`, []string{"192.0.2."}},
		{`GetBucketAcl|ListObjects`, []string{"GetBucketAcl", "ListObjects"}},
		{`BadBot/.*`, []string{"BadBot/"}},
		{`.*(siem-es-loader|AesSiemEsLoader|siem-ioc-db-creator).*`, []string{"siem-es-loader", "AesSiemEsLoader", "siem-ioc-db-creator"}},
		{`arn.*(LambdaEsLoaderServiceRole|AmazonSecurityLakeS3ReplicationRole).*`, []string{"LambdaEsLoaderServiceRole", "AmazonSecurityLakeS3ReplicationRole"}},
		{`(?i)badbot`, nil},
		{`\d+`, nil},
		{`(abc)?def`, []string{"def"}},
		{`(ab)?`, nil},
		{`x|.*`, nil},
		{`(foo){2,}bar`, []string{"foo"}},
		{`()`, nil},
	} {
		var got []string
		for _, l := range requiredLiterals(tc.pattern) {
			got = append(got, string(l))
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%q: %q, want %q", tc.pattern, got, tc.want)
		}
	}
}

// The prefilter never changes a result: every rule gives the same answer
// with and without it on random texts built from its own pieces.
func TestPrefilterSameResults(t *testing.T) {
	patterns := []string{`192\.0\.2\.\d+`, `GetBucketAcl|ListObjects`, `BadBot/.*`, `(abc)?def`, `a(bc|de)+f`,
		`80|443`, `.*(x1|y2).*`, `[a-c]+zz`, `é+x`, `(foo){2,}bar`}
	for _, r := range OwnLogRules("siem-es-loader") {
		patterns = append(patterns, r.Pattern)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	pieces := []string{"192.0.2.", "1", "9", "GetBucketAcl", "List", "Objects", "BadBot/", "abc", "def", "a", "bc", "de", "f",
		"80", "443", "\n", "x1", "y2", "zz", "é", "\xff", "foo", "bar", "arn:aws:iam::1:role/", "aes-siem-es-loader",
		"siem-es-loader", "AROAX:", "LambdaEsLoaderServiceRole", "securitylake.amazonaws.com", " "}
	for _, p := range patterns {
		full, err := NewRule("t", "f", p, false, "test")
		if err != nil {
			t.Fatal(err)
		}
		prefix := Rule{re: compilePrefix(p), lits: requiredLiterals(p)}
		for _, r := range []Rule{full, prefix} {
			for i := 0; i < 3000; i++ {
				var text []byte
				for range rng.IntN(6) {
					text = append(text, pieces[rng.IntN(len(pieces))]...)
				}
				if got, want := r.Match(text), r.re.Match(text); got != want {
					t.Fatalf("%q on %q: %v with the prefilter %q, %v without", p, text, got, r.lits, want)
				}
			}
		}
	}
}

// FuzzPrefilter: for any pattern and text, the rule answers the same with
// and without its literal prefilter.
func FuzzPrefilter(f *testing.F) {
	for _, s := range [][2]string{
		{`192\.0\.2\.\d+`, "192.0.2.7"}, {`GetBucketAcl|ListObjects`, "ListObjects"}, {`.*(a|bc).*`, "xbcx"},
		{`(?i)abc`, "ABC"}, {`a+b`, "aab"}, {`(ab)?c`, "c"}, {`é+`, "\xc3"}, {`\x{fffd}`, "\xff"}, {`x|`, ""},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, text string) {
		full, err := NewRule("t", "f", pattern, false, "fuzz")
		if err != nil {
			return
		}
		for _, r := range []Rule{full, {re: compilePrefix(pattern), lits: requiredLiterals(pattern)}} {
			if got, want := r.Match([]byte(text)), r.re.Match([]byte(text)); got != want {
				t.Fatalf("%q on %q: %v with the prefilter %q, %v without", pattern, text, got, r.lits, want)
			}
		}
	})
}
