package schemas

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/siemstream/siemstream/internal/doc"
	"github.com/siemstream/siemstream/internal/pystr"
)

// Go transform of the rds-mysql-audit log type (es-loader's
// sf_rds_mysql_audit.py).

func init() {
	RegisterTransform("rds_mysql_audit", transformMySQLAudit)
}

// pyUnicodeEscape is s.encode("utf-8").decode("unicode-escape"): backslash
// escapes are interpreted and every other byte is a Latin-1 character.
func pyUnicodeEscape(s string) (string, bool) {
	b := []byte(s)
	var out []rune
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c != '\\' {
			out = append(out, rune(c))
			continue
		}
		if i+1 >= len(b) {
			return "", false // \ at end
		}
		i++
		switch e := b[i]; e {
		case '\n':
		case '\\', '\'', '"':
			out = append(out, rune(e))
		case 'a':
			out = append(out, 7)
		case 'b':
			out = append(out, 8)
		case 'f':
			out = append(out, 12)
		case 'n':
			out = append(out, 10)
		case 'r':
			out = append(out, 13)
		case 't':
			out = append(out, 9)
		case 'v':
			out = append(out, 11)
		case 'x', 'u', 'U':
			n := map[byte]int{'x': 2, 'u': 4, 'U': 8}[e]
			if i+n > len(b)-1 {
				return "", false
			}
			v, err := strconv.ParseUint(string(b[i+1:i+1+n]), 16, 32)
			if err != nil || v > utf8.MaxRune {
				return "", false
			}
			out = append(out, rune(v))
			i += n
		case '0', '1', '2', '3', '4', '5', '6', '7':
			v := int(e - '0')
			for k := 0; k < 2 && i+1 < len(b) && b[i+1] >= '0' && b[i+1] <= '7'; k++ {
				i++
				v = v*8 + int(b[i]-'0')
			}
			out = append(out, rune(v))
		case 'N':
			return "", false // named escapes are not supported here
		default:
			out = append(out, '\\', rune(e))
		}
	}
	return string(out), true
}

// transformMySQLAudit: identifiers; mysql_timestamp in seconds; rds.query
// from the audited object (unquoted, unescaped); event fields for
// connections; event.outcome from the return code; mysql_* under mysql.
func transformMySQLAudit(tc *TransformContext) error {
	d := tc.Doc
	root := d.Root()
	rds, err := setRDSIdentifiers(d)
	if err != nil {
		return err
	}
	ts := d.Child(root, "mysql_timestamp")
	if ts == doc.Nil {
		return stop("mysql_timestamp missing")
	}
	if s, ok := strOf(d, ts); ok {
		if v, err := strconv.ParseInt(pystr.Strip(s), 10, 64); err == nil && v > 1000000000000000 {
			setFloat(d, root, "mysql_timestamp", float64(v)/1000000.0)
		}
	}
	if obj := d.Child(root, "mysql_object"); obj != doc.Nil {
		s, ok := strOf(d, obj)
		if !ok {
			return stop("mysql_object is not a string")
		}
		u, ok := pyUnicodeEscape(strings.TrimRight(s, ";"))
		if !ok {
			return stop("mysql_object: invalid escape")
		}
		r := []rune(u)
		q := ""
		if len(r) >= 2 {
			q = string(r[1 : len(r)-1])
		}
		d.SetString(rds, "query", q)
	}
	if op := d.Child(root, "mysql_operation"); op != doc.Nil {
		switch s, _ := strOf(d, op); s {
		case "FAILED_CONNECT":
			setEvent(d, "category", "authentication", "type", "start", "action", "failed")
		case "CONNECT":
			setEvent(d, "category", "authentication", "type", "start", "action", "authorized")
		case "DISCONNECT":
			setEvent(d, "category", "authentication", "type", "end", "action", "disconnected")
		}
	}
	if rc := d.Child(root, "mysql_retcode"); rc != doc.Nil {
		// (sic) compared with the integer 0: a string "0" is a failure
		if v, ok := number(d, rc); ok && v == 0 {
			setEvent(d, "outcome", "success")
		} else {
			setEvent(d, "outcome", "failure")
		}
	}
	return underscoreToDots(d, "mysql")
}
