package schemas

import (
	"regexp"

	"github.com/siemstream/siemstream/internal/doc"
)

// Go transform of the rds-mysql-error log type (es-loader's
// sf_rds_mysql_error.py).

func init() {
	RegisterTransform("rds_mysql_error", transformMySQLError)
}

var reMySQLAuthFailed = regexp.MustCompile(`^Access denied for user '(?P<mysql_username>[^']*)'@'(?P<mysql_host>[^']*)'`)

var reMySQLUnknownDB = regexp.MustCompile(`^Unknown database '(?P<mysql_database>[^']*)'`)

// transformMySQLError: failed logins (user, host) and unknown databases.
func transformMySQLError(tc *TransformContext) error {
	d := tc.Doc
	root := d.Root()
	rds, err := setRDSIdentifiers(d)
	if err != nil {
		return err
	}
	msgNode := d.Child(root, "mysql_message")
	if msgNode == doc.Nil {
		return stop("mysql_message missing")
	}
	msg, _ := strOf(d, msgNode)
	if m := reMySQLAuthFailed.FindStringSubmatch(msg); m != nil {
		setEvent(d, "category", "authentication", "type", "start", "action", "failed", "outcome", "failure")
		d.SetString(root, "mysql_username", m[1])
		d.SetString(objectAt(d, root, "user"), "name", m[1])
		d.SetString(root, "mysql_host", m[2])
		src := objectAt(d, root, "source")
		d.SetString(src, "address", m[2])
		if pyIPAddress(m[2]) {
			d.SetString(src, "ip", m[2])
		}
	}
	if m := reMySQLUnknownDB.FindStringSubmatch(msg); m != nil {
		setEvent(d, "category", "authentication", "type", "start", "action", "failed", "outcome", "failure")
		d.SetString(root, "mysql_database", m[1])
		d.SetString(rds, "database_name", m[1])
	}
	return underscoreToDots(d, "mysql")
}
