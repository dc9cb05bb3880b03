package exclude

import (
	"math"
	"strconv"
	"strings"

	"github.com/siemstream/siemstream/internal/pyjson"
)

// es-loader tests exclusion patterns against Python's str() of the parsed
// value. These helpers give the same text for JSON scalars.

// PyBool is str(True) / str(False).
func PyBool(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

// PyNone is str(None).
const PyNone = "None"

// PyNumber converts a JSON number literal to str() of what Python's json
// module parses it into: an integer literal stays as written (Python ints are
// unbounded), any other number becomes a float printed with repr's shortest
// round-trip form ("1.5", "100.0", "1e-05", "1e+16").
func PyNumber(lit string) string { return string(pyjson.AppendNumber(nil, []byte(lit))) }

// PyFloat is Python's repr(float).
func PyFloat(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case math.IsNaN(f):
		return "nan"
	}
	// Shortest digits and decimal exponent.
	e := strconv.FormatFloat(f, 'e', -1, 64) // d.ddde±XX
	mant, expStr, _ := strings.Cut(e, "e")
	exp, _ := strconv.Atoi(expStr)
	neg := strings.HasPrefix(mant, "-")
	mant = strings.TrimPrefix(mant, "-")
	digits := strings.Replace(mant, ".", "", 1)
	var sb strings.Builder
	if neg {
		sb.WriteByte('-')
	}
	if exp < -4 || exp >= 16 {
		sb.WriteByte(digits[0])
		if len(digits) > 1 {
			sb.WriteByte('.')
			sb.WriteString(digits[1:])
		}
		sb.WriteByte('e')
		if exp < 0 {
			sb.WriteByte('-')
			exp = -exp
		} else {
			sb.WriteByte('+')
		}
		if exp < 10 {
			sb.WriteByte('0')
		}
		sb.WriteString(strconv.Itoa(exp))
		return sb.String()
	}
	if exp < 0 {
		sb.WriteString("0.")
		sb.WriteString(strings.Repeat("0", -exp-1))
		sb.WriteString(digits)
		return sb.String()
	}
	if len(digits) <= exp+1 {
		sb.WriteString(digits)
		sb.WriteString(strings.Repeat("0", exp+1-len(digits)))
		sb.WriteString(".0")
		return sb.String()
	}
	sb.WriteString(digits[:exp+1])
	sb.WriteByte('.')
	sb.WriteString(digits[exp+1:])
	return sb.String()
}

// PyTruthy is Python's truth value of a JMESPath result (decoded JSON):
// None, False, 0, "", [] and {} are false. Unlike JMESPath's own notion,
// the number 0 is false, because es-loader tests the result with `if`.
func PyTruthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case float64:
		return x != 0
	case int:
		return x != 0
	case int64:
		return x != 0
	case string:
		return x != ""
	case []any:
		return len(x) > 0
	case map[string]any:
		return len(x) > 0
	}
	return true
}
