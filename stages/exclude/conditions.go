package exclude

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	jmespath "github.com/jmespath-community/go-jmespath"
)

// DefaultSSMPrefix is es-loader's Parameter Store path for exclusion
// conditions: /siem/exclude-logs/<log_type>/<name>.
const DefaultSSMPrefix = "/siem/exclude-logs/"

// Parameter is one Parameter Store parameter under the prefix.
type Parameter struct {
	// Name is relative to the prefix: "<log_type>/<name>".
	Name  string
	Value string
}

// ParamLoader fetches the parameters under the conditions prefix. The SSM
// implementation is package ssmparam.
type ParamLoader interface {
	Parameters(ctx context.Context) ([]Parameter, error)
}

// StaticParams is a ParamLoader over a fixed list (tests, local runs).
type StaticParams []Parameter

// Parameters implements ParamLoader.
func (s StaticParams) Parameters(context.Context) ([]Parameter, error) { return s, nil }

// ParamsFromJSON reads the {"<log_type>/<name>": {"action": ..., "expression":
// ...}} file format of the esloader-ref harness (--ssm-json); a value may also
// be the parameter's JSON text as a string.
func ParamsFromJSON(data []byte) (StaticParams, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("conditions json: %w", err)
	}
	out := make(StaticParams, 0, len(m))
	for k, v := range m {
		val := string(v)
		var s string
		if json.Unmarshal(v, &s) == nil {
			val = s
		}
		out = append(out, Parameter{Name: k, Value: val})
	}
	slices.SortFunc(out, func(a, b Parameter) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// Action is what a matching condition does.
type Action uint8

// Actions. DISABLE conditions are dropped at load time.
const (
	ActionExclude Action = iota + 1
	ActionCount
)

func (a Action) String() string {
	switch a {
	case ActionExclude:
		return "EXCLUDE"
	case ActionCount:
		return "COUNT"
	}
	return fmt.Sprintf("action(%d)", uint8(a))
}

// Condition is one compiled parameter.
type Condition struct {
	// Name is "<log_type>/<name>" (relative to the prefix), as es-loader logs
	// it.
	Name       string
	LogType    string
	Action     Action
	Expression string

	compiled jmespath.JMESPath
}

// Eval runs the expression on the document (decoded JSON) and applies
// Python truthiness to the result.
func (c *Condition) Eval(doc any) (bool, error) {
	v, err := c.compiled.Search(doc)
	if err != nil {
		return false, err
	}
	return PyTruthy(v), nil
}

// ConditionSet holds the conditions by log type, each list sorted by name.
// Immutable; safe for concurrent use.
type ConditionSet struct {
	byType map[string][]Condition
	n      int
}

// Len is the number of active conditions.
func (s *ConditionSet) Len() int {
	if s == nil {
		return 0
	}
	return s.n
}

// For returns the log type's conditions (nil when none).
func (s *ConditionSet) For(logType string) []Condition {
	if s == nil {
		return nil
	}
	return s.byType[logType]
}

// ParamError is a parameter that was ignored, named as in es-loader's log.
type ParamError struct {
	Name string
	Err  error
}

func (e *ParamError) Error() string {
	return fmt.Sprintf("parameter %s%s ignored: %v", DefaultSSMPrefix, e.Name, e.Err)
}
func (e *ParamError) Unwrap() error { return e.Err }

// ParseConditions compiles parameters the way es-loader's
// get_exclusion_conditions does: the name must be "<log_type>/<name>", the
// value a JSON object with "action" (EXCLUDE, COUNT or DISABLE, any case) and
// "expression" (JMESPath); DISABLE is skipped silently. A bad parameter is
// reported as a *ParamError naming it and ignored; the others are used.
func ParseConditions(params []Parameter) (*ConditionSet, []error) {
	set := &ConditionSet{byType: map[string][]Condition{}}
	var errs []error
	bad := func(name string, err error) { errs = append(errs, &ParamError{Name: name, Err: err}) }
	for _, p := range params {
		name := strings.TrimPrefix(p.Name, "/")
		lt, _, ok := strings.Cut(name, "/")
		if !ok || lt == "" {
			bad(name, errors.New("name must have a log type prefix (<log_type>/<name>)"))
			continue
		}
		var v struct {
			Action     *string `json:"action"`
			Expression *string `json:"expression"`
		}
		if err := json.Unmarshal([]byte(p.Value), &v); err != nil {
			bad(name, fmt.Errorf("invalid JSON: %w", err))
			continue
		}
		if v.Action == nil || v.Expression == nil {
			bad(name, errors.New("must have `action` and `expression` keys"))
			continue
		}
		var act Action
		switch strings.ToLower(*v.Action) {
		case "disable":
			continue
		case "exclude":
			act = ActionExclude
		case "count":
			act = ActionCount
		}
		compiled, err := jmespath.Compile(*v.Expression)
		if err != nil {
			bad(name, fmt.Errorf("failed to compile JMESPath %q: %w", *v.Expression, err))
			continue
		}
		if act == 0 {
			bad(name, fmt.Errorf("invalid action %q: it should be EXCLUDE or COUNT", *v.Action))
			continue
		}
		set.byType[lt] = append(set.byType[lt], Condition{Name: name, LogType: lt, Action: act, Expression: *v.Expression, compiled: compiled})
		set.n++
	}
	for _, l := range set.byType {
		slices.SortFunc(l, func(a, b Condition) int { return strings.Compare(a.Name, b.Name) })
	}
	return set, errs
}

// Outcome is the result of evaluating a log type's conditions on a document.
type Outcome struct {
	// Excluded by this EXCLUDE condition (nil: kept).
	Excluded *Condition
	// Counted lists the COUNT conditions that matched before evaluation
	// stopped (es-loader stops at the first EXCLUDE match).
	Counted []*Condition
	// Errors are expressions that failed on this document (skipped).
	Errors []*ParamError
}

// Evaluate runs conditions in order on doc, as es-loader's
// exclude_logs_by_conditions: an EXCLUDE match stops, COUNT matches are
// collected, a failing expression is skipped.
func Evaluate(conds []Condition, doc any, out *Outcome) {
	*out = Outcome{Counted: out.Counted[:0], Errors: out.Errors[:0]}
	for i := range conds {
		c := &conds[i]
		ok, err := c.Eval(doc)
		if err != nil {
			out.Errors = append(out.Errors, &ParamError{Name: c.Name, Err: fmt.Errorf("failed to query JMESPath: %w", err)})
			continue
		}
		if !ok {
			continue
		}
		if c.Action == ActionExclude {
			out.Excluded = c
			return
		}
		out.Counted = append(out.Counted, c)
	}
}

func paramsVersion(ps []Parameter) string {
	h := sha256.New()
	for _, p := range ps {
		h.Write([]byte(p.Name))
		h.Write([]byte{0})
		h.Write([]byte(p.Value))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}
