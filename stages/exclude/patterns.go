package exclude

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
)

// Matcher tests one value's text (a *Rule).
type Matcher interface {
	Match(text []byte) bool
}

// Record is read access to one parsed raw record for pattern matching.
type Record interface {
	// Visit tests Python's str() of every scalar found at path (a dotted
	// field split on '.') with m, descending into every element of a list met
	// on the way or at the end, and returns the first text that matches.
	// Objects at the end of the path are not tested.
	Visit(path []string, m Matcher) (hit []byte, ok bool)
}

// Rule is one exclusion pattern: the value at Path must match Re in full.
type Rule struct {
	LogType string
	Field   string
	Path    []string
	Pattern string
	// Text: Pattern is a literal (pattern_type "text"); otherwise a regular
	// expression.
	Text bool
	// Origin names where the rule came from ("exclude_log_patterns.csv:12",
	// "built-in").
	Origin string

	re   *regexp.Regexp
	lits [][]byte // one of these occurs in every match (see prefilter.go)
}

// Match reports whether the text matches the rule, with es-loader's
// semantics: re.match(pattern + '$', text), i.e. anchored at the start, and
// '$' also matching before one trailing newline.
func (r *Rule) Match(text []byte) bool {
	if r.re == nil {
		return string(text) == r.Pattern ||
			(len(text) == len(r.Pattern)+1 && text[len(text)-1] == '\n' && string(text[:len(r.Pattern)]) == r.Pattern)
	}
	if r.lits != nil && !containsAny(text, r.lits) {
		return false
	}
	return r.re.Match(text)
}

// compileFull translates es-loader's re.compile(p + '$') used with re.match
// to RE2: the pattern is checked on its own first (so unbalanced groups are
// refused rather than changing meaning), then wrapped so that the appended
// '$' binds to the last alternative exactly as it does in Python
// ("80|443" means "starts with 80, or is 443"). The check only parses p
// (the same parse, and so the same errors, as regexp.Compile(p)); its
// syntax tree also gives the literals one of which every match contains.
// Only the wrapped form is compiled.
func compileFull(p string) (*regexp.Regexp, [][]byte, error) {
	// The same cap as user.ini's patterns: compiling a 10 MB regex takes
	// seconds and hundreds of MiB before RE2's own size check refuses it.
	if len(p) > maxPatternBytes {
		return nil, nil, fmt.Errorf("pattern is %d bytes, longer than the %d-byte limit", len(p), maxPatternBytes)
	}
	tree, err := syntax.Parse(p, syntax.Perl)
	if err != nil {
		return nil, nil, err
	}
	re, err := regexp.Compile(`^(?:` + p + `\n?\z)`)
	if err != nil {
		return nil, nil, err
	}
	return re, literalsOf(tree), nil
}

// maxPatternBytes caps one exclusion pattern (the longest in es-loader's
// sample file is under 200 bytes).
const maxPatternBytes = 64 << 10

// compilePrefix is re.compile(p) used with re.match (built-in rules).
func compilePrefix(p string) *regexp.Regexp {
	return regexp.MustCompile(`^(?:` + p + `)`)
}

// NewRule makes a rule from its parts, validating them.
func NewRule(logType, field, pattern string, text bool, origin string) (Rule, error) {
	r := Rule{LogType: logType, Field: field, Pattern: pattern, Text: text, Origin: origin}
	if logType == "" {
		return r, errors.New("empty log_type")
	}
	if field == "" {
		return r, errors.New("empty field")
	}
	r.Path = strings.Split(field, ".")
	if slices.Contains(r.Path, "") {
		return r, fmt.Errorf("unknown field %q: empty path segment", field)
	}
	if pattern == "" {
		return r, errors.New("empty pattern (to exclude empty values use pattern_type regex with pattern ())")
	}
	if !text {
		re, lits, err := compileFull(pattern)
		if err != nil {
			return r, fmt.Errorf("bad regex %q: %w", pattern, err)
		}
		r.re, r.lits = re, lits
	}
	return r, nil
}

// RowError is a problem with one CSV row; the row is ignored.
type RowError struct {
	File string
	Line int
	Err  error
}

func (e *RowError) Error() string {
	return fmt.Sprintf("%s:%d: %v (row ignored)", e.File, e.Line, e.Err)
}
func (e *RowError) Unwrap() error { return e.Err }

// CSVColumns are the columns of exclude_log_patterns.csv (comment optional).
var CSVColumns = []string{"log_type", "field", "pattern", "pattern_type", "comment"}

// ParseCSV reads exclude_log_patterns.csv: a header naming at least
// log_type, field, pattern and pattern_type (any order, as csv.DictReader),
// then one rule per row. pattern_type "text" (any case) is a literal; any
// other value is a regular expression, as in es-loader ("regex" is the
// documented one). knownLogTypes, when not empty, refuses rows for other log
// types. A bad row is reported as a *RowError in rowErrs and ignored; err is
// set only when the file as a whole is unusable (no header, bad CSV).
func ParseCSV(name string, data []byte, knownLogTypes []string) (rules []Rule, rowErrs []error, err error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	r.LazyQuotes = true
	header, err := r.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil, nil // empty file: no rules
		}
		return nil, nil, fmt.Errorf("%s: header: %w", name, err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.ToLower(strings.TrimSpace(h))] = i
	}
	for _, c := range CSVColumns[:4] {
		if _, ok := col[c]; !ok {
			return nil, nil, fmt.Errorf("%s: header has no %q column (want %s)", name, c, strings.Join(CSVColumns, ","))
		}
	}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line, _ := r.FieldPos(0)
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				rowErrs = append(rowErrs, &RowError{File: name, Line: pe.StartLine, Err: err})
				continue
			}
			return nil, nil, fmt.Errorf("%s: %w", name, err)
		}
		get := func(c string) (string, bool) {
			i := col[c]
			if i >= len(rec) {
				return "", false
			}
			return rec[i], true
		}
		lt, ok1 := get("log_type")
		field, ok2 := get("field")
		pat, ok3 := get("pattern")
		pt, ok4 := get("pattern_type")
		if !ok1 || !ok2 || !ok3 || !ok4 {
			rowErrs = append(rowErrs, &RowError{File: name, Line: line, Err: fmt.Errorf("%d columns, header has %d", len(rec), len(header))})
			continue
		}
		lt, field, pt = strings.TrimSpace(lt), strings.TrimSpace(field), strings.TrimSpace(pt)
		if len(knownLogTypes) > 0 && lt != "" && !slices.Contains(knownLogTypes, lt) {
			rowErrs = append(rowErrs, &RowError{File: name, Line: line, Err: fmt.Errorf("unknown log_type %q", lt)})
			continue
		}
		rule, err := NewRule(lt, field, pat, strings.EqualFold(pt, "text"), fmt.Sprintf("%s:%d", name, line))
		if err != nil {
			rowErrs = append(rowErrs, &RowError{File: name, Line: line, Err: err})
			continue
		}
		rules = append(rules, rule)
	}
	return rules, rowErrs, nil
}

// Patterns is a compiled set of rules by log type. Immutable; safe for
// concurrent use.
type Patterns struct {
	byType map[string][]Rule
	n      int
}

// NewPatterns indexes rules (kept in order within a log type).
func NewPatterns(rules ...[]Rule) *Patterns {
	p := &Patterns{byType: map[string][]Rule{}}
	for _, rs := range rules {
		for _, r := range rs {
			p.byType[r.LogType] = append(p.byType[r.LogType], r)
			p.n++
		}
	}
	return p
}

// Len is the number of rules.
func (p *Patterns) Len() int {
	if p == nil {
		return 0
	}
	return p.n
}

// Has reports whether the log type has any rule.
func (p *Patterns) Has(logType string) bool { return p != nil && len(p.byType[logType]) > 0 }

// Match evaluates every rule of the log type (es-loader defect 8 fixed: all
// fields of a pattern and all elements of a list are evaluated, not only the
// first) and returns the first rule that matches and the matched text.
func (p *Patterns) Match(logType string, rec Record) (*Rule, string, bool) {
	if p == nil {
		return nil, "", false
	}
	rules := p.byType[logType]
	for i := range rules {
		r := &rules[i]
		if hit, ok := rec.Visit(r.Path, r); ok {
			return r, string(hit), true
		}
	}
	return nil, "", false
}

// OwnLogRules are es-loader's built-in patterns (ignore_own_logs) that drop
// the SIEM's own CloudTrail, S3 access log and Security Lake records, as
// flat rules (es-loader's nested patterns are OR-ed, so each leaf is one
// rule). userAgent is the loader's custom user agent (es-loader:
// "siem-es-loader"). Unlike CSV rules these are re.match without '$', i.e.
// prefix matches, as in es-loader.
func OwnLogRules(userAgent string) []Rule {
	ua := `.*(` + regexp.QuoteMeta(userAgent) + `|AesSiemEsLoader|siem-ioc-db-creator).*`
	funcs := `(aes-siem-ioc-download|aes-siem-ioc-plan|aes-siem-ioc-createdb|aes-siem-es-loader|aes-siem-index-metrics-exporter|SecurityLake_Glue_Partition_Updater_Lambda.*)`
	fn := `arn.*` + funcs
	principal := `AROA.*` + funcs
	role := `arn.*(LambdaEsLoaderServiceRole|AmazonSecurityLakeS3ReplicationRole).*`
	src := `securitylake.amazonaws.com`
	agent := `(arn:.*` + fn + `|` + role + `|svc:` + src + `)`
	mk := func(lt, field, re string) Rule {
		return Rule{LogType: lt, Field: field, Path: strings.Split(field, "."), Pattern: re, Origin: "built-in",
			re: compilePrefix(re), lits: requiredLiterals(re)}
	}
	return []Rule{
		mk("cloudtrail", "userAgent", ua),
		mk("cloudtrail", "sourceIPAddress", src),
		mk("cloudtrail", "userIdentity.principalId", principal),
		mk("cloudtrail", "userIdentity.arn", role),
		mk("cloudtrail", "requestParameters.functionName", fn),
		mk("cloudtrail", "requestParameters.roleArn", role),
		mk("s3accesslog", "Requester", agent),
		mk("s3accesslog", "UserAgent", ua),
		mk("securitylake", "src_endpoint.domain", src),
		mk("securitylake", "resources.uid", fn),
		mk("securitylake", "actor.user.uid", principal),
		mk("securitylake", "actor.session.issuer", role),
	}
}
