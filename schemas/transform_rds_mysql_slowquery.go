package schemas

import (
	"regexp"
	"strings"

	"github.com/siemstream/siemstream/internal/doc"
)

// Go transform of the rds-mysql-slowquery log type (es-loader's
// sf_rds_mysql_slowquery.py).

func init() {
	RegisterTransform("rds_mysql_slowquery", transformMySQLSlowquery)
}

var reMySQLUseDB = regexp.MustCompile(`^use ([^ ]*?);`)

// mysqlQueryStart finds what es-loader's
// re.search(r'^(?!(use|set))[\s\S]*', s, re.MULTILINE|re.IGNORECASE)
// matches: the text from the first line start (string start or after a
// "\n", the end of the string included) where the line does not begin with
// "use" or "set" (any case). RE2 has no look-ahead.
func mysqlQueryStart(s string) (string, bool) {
	for pos := 0; pos <= len(s); {
		rest := s[pos:]
		if len(rest) < 3 || !(strings.EqualFold(rest[:3], "use") || strings.EqualFold(rest[:3], "set")) {
			return rest, true
		}
		i := strings.IndexByte(rest, '\n')
		if i < 0 {
			return "", false
		}
		pos += i + 1
	}
	return "", false
}

// transformMySQLSlowquery: identifiers, rds.query_time, the database of a
// leading "use x;" and rds.query without the use/set lines.
func transformMySQLSlowquery(tc *TransformContext) error {
	d := tc.Doc
	root := d.Root()
	rds, err := setRDSIdentifiers(d)
	if err != nil {
		return err
	}
	qt := d.Child(root, "mysql_query_time")
	if qt == doc.Nil {
		return stop("mysql_query_time missing")
	}
	d.SetCopy(rds, "query_time", qt)
	q, ok := str(d, root, "mysql_query")
	if !ok {
		return stop("mysql_query is not a string")
	}
	if m := reMySQLUseDB.FindStringSubmatch(q); m != nil {
		d.SetString(rds, "database_name", m[1])
	}
	if s, ok := mysqlQueryStart(q); ok {
		d.SetString(rds, "query", strings.TrimRight(s, ";"))
	}
	return underscoreToDots(d, "mysql")
}
