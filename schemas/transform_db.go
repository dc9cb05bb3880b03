package schemas

import (
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/siemstream/siemstream/internal/doc"
	"github.com/siemstream/siemstream/internal/pyjson"
	"github.com/siemstream/siemstream/internal/pystr"
)

// Go transforms for database and streaming logs: rds-postgresql,
// rds-mysql-audit/general/error/slowquery and msk (es-loader's
// sf_rds_* and sf_msk).

func init() {
	RegisterTransform("rds_postgresql", transformRDSPostgreSQL)
	RegisterTransform("rds_mysql_audit", transformMySQLAudit)
	RegisterTransform("rds_mysql_general", transformMySQLGeneral)
	RegisterTransform("rds_mysql_error", transformMySQLError)
	RegisterTransform("rds_mysql_slowquery", transformMySQLSlowquery)
	RegisterTransform("msk", transformMSK)
}

// underscoreToDots is utils.convert_underscore_field_into_dot_notation:
// top-level fields "<prefix>_x" move to <prefix>.x.
func underscoreToDots(d *doc.Doc, prefix string) error {
	root := d.Root()
	obj := d.Child(root, prefix)
	if obj == doc.Nil {
		obj = d.SetObject(root, prefix)
	}
	var keys []string
	for c := d.First(root); c != doc.Nil; c = d.Next(c) {
		if k := string(d.Key(c)); strings.HasPrefix(k, prefix+"_") {
			keys = append(keys, k)
		}
	}
	if len(keys) > 0 && d.Kind(obj) != doc.Object {
		return stop("%s is not an object", prefix)
	}
	for _, k := range keys {
		d.SetCopy(obj, strings.ReplaceAll(k, prefix+"_", ""), d.Child(root, k))
		d.Delete(root, k)
	}
	return nil
}

// rdsIdentifiers is utils.cluster_instance_identifier: the cluster and
// instance identifiers from /aws/rds/{instance|cluster}/<id>/<log> and the
// log stream; it creates the rds object.
func rdsIdentifiers(d *doc.Doc) (cluster, instance *string, err error) {
	root := d.Root()
	var g3, g4 *string
	if lg, ok := str(d, root, "@log_group"); ok {
		parts := strings.Split(lg, "/")
		if len(parts) < 5 {
			return nil, nil, stop("@log_group %q has too few parts", lg)
		}
		g3, g4 = &parts[3], &parts[4]
	}
	if d.Child(root, "rds") == doc.Nil {
		d.SetObject(root, "rds")
	}
	streamNode := d.Child(root, "@log_stream")
	if streamNode == doc.Nil {
		return nil, nil, stop("@log_stream missing")
	}
	switch {
	case g3 != nil && *g3 == "instance":
		instance = g4
	case g3 != nil && *g3 == "cluster":
		cluster = g4
		s, ok := strOf(d, streamNode)
		if !ok {
			return nil, nil, stop("@log_stream is not a string")
		}
		i, _, _ := strings.Cut(s, ".")
		instance = &i
	}
	return cluster, instance, nil
}

func setRDSIdentifiers(d *doc.Doc) (doc.Node, error) {
	cl, in, err := rdsIdentifiers(d)
	if err != nil {
		return doc.Nil, err
	}
	rds := d.Child(d.Root(), "rds")
	if d.Kind(rds) != doc.Object {
		return doc.Nil, stop("rds is not an object")
	}
	setOptString(d, rds, "cluster_identifier", cl)
	setOptString(d, rds, "instance_identifier", in)
	return rds, nil
}

func setFloat(d *doc.Doc, obj doc.Node, key string, f float64) {
	d.SetNumber(obj, key, pyjson.AppendFloat(nil, f))
}

var (
	rePGAuthFailed  = regexp.MustCompile(`authentication failed`)
	rePGAuthSuccess = regexp.MustCompile(`connection authorized`)
	rePGSessionTime = mustPy("pg_session", `^disconnection: session time: (\d+):(\d{2}):([\d.]+)`)
	rePGStatement   = mustPy("pg_statement", `^statement:\s+(\w+.*)`)
	rePGDuration    = mustPy("pg_duration", `^duration:\s+(?P<duration>[\d.]+)\s+ms(\s*(?P<step>(parse|bind|execute))?.*?:\s+(?P<statement>.*))?`)
)

func setEvent(d *doc.Doc, kv ...string) {
	ev := d.Child(d.Root(), "event")
	for i := 0; i+1 < len(kv); i += 2 {
		d.SetString(ev, kv[i], kv[i+1])
	}
}

// transformRDSPostgreSQL: postgresql_* fields under postgresql; cluster
// and instance identifiers; STATEMENT lines as rds.query; authentication
// success/failure; session time; statement and duration (slow query) lines.
func transformRDSPostgreSQL(tc *TransformContext) error {
	d := tc.Doc
	root := d.Root()
	if err := underscoreToDots(d, "postgresql"); err != nil {
		return err
	}
	rds, err := setRDSIdentifiers(d)
	if err != nil {
		return err
	}
	pg := d.Child(root, "postgresql")
	lvlNode := d.Child(pg, "log_level")
	if lvlNode == doc.Nil {
		return nil
	}
	lvl, _ := strOf(d, lvlNode)
	msgNode := d.Child(pg, "message")
	msg, _ := strOf(d, msgNode)
	switch lvl {
	case "STATEMENT":
		d.SetCopy(rds, "query", msgNode)
	case "FATAL":
		if rePGAuthFailed.MatchString(msg) {
			setEvent(d, "category", "authentication", "type", "start", "action", "failed", "outcome", "failure")
		}
	case "LOG":
		if rePGAuthSuccess.MatchString(msg) {
			setEvent(d, "category", "authentication", "type", "start", "action", "authorized", "outcome", "success")
			return nil
		}
		if m := rePGSessionTime.FindStringSubmatch(msg); m != nil {
			h, _ := strconv.Atoi(m[1])
			mi, _ := strconv.Atoi(m[2])
			sec, err := strconv.ParseFloat(m[3], 64)
			if err != nil {
				return stop("session time %q", m[3])
			}
			t := sec
			if h > 0 {
				t += float64(h * 60 * 24) // (sic) es-loader
			}
			if mi > 0 {
				t += float64(mi * 60)
			}
			setFloat(d, pg, "session_time_seconds", t)
			return nil
		}
		if m := rePGStatement.FindStringSubmatch(msg); m != nil {
			d.SetString(rds, "query", strings.TrimRight(m[1], ";"))
			d.SetString(pg, "query_step", "execute")
			return nil
		}
		if g := pyGroups([]*regexp.Regexp{rePGDuration}, msg); g != nil {
			ms, err := strconv.ParseFloat(*g["duration"], 64)
			if err != nil {
				return stop("duration %q", *g["duration"])
			}
			setFloat(d, pg, "duration_ms", ms)
			setFloat(d, rds, "query_time", ms/1000)
			if step := g["step"]; step != nil && *step != "" {
				d.SetString(pg, "query_step", *step)
				setOptString(d, rds, "query", g["statement"])
			} else {
				d.SetString(pg, "query_step", "execute")
			}
		}
	}
	return nil
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

func transformMySQLGeneral(tc *TransformContext) error {
	if _, err := setRDSIdentifiers(tc.Doc); err != nil {
		return err
	}
	return underscoreToDots(tc.Doc, "mysql")
}

var (
	reMySQLAuthFailed = regexp.MustCompile(`^Access denied for user '(?P<mysql_username>[^']*)'@'(?P<mysql_host>[^']*)'`)
	reMySQLUnknownDB  = regexp.MustCompile(`^Unknown database '(?P<mysql_database>[^']*)'`)
)

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

var (
	reMSKCluster     = mustPy("msk_cluster", `/([\w-]+)-(\w{8}-\w{4}-\w{4}-\w{4}-\w{12}-\w{1})/.*/Broker-(\d+)_`)
	reMSKConsumerLag = mustPy("msk_lag", `^ConsumerLag for groupId=([\w.-]+) topic=([\w.-]+) : SumLag=(\d+) MaxLag=(\d+) TimeLag=(\d+)`)
)

// transformMSK: cluster name and broker id from the key; consumer lag
// records; msk_* fields under msk.
func transformMSK(tc *TransformContext) error {
	d := tc.Doc
	root := d.Root()
	if m := reMSKCluster.FindStringSubmatch(strOr(d, root, "@log_s3key")); m != nil {
		d.SetString(root, "msk_cluster_name", m[1])
		d.SetString(root, "msk_broker_id", m[3])
	}
	msg, ok := str(d, root, "msk_message")
	if !ok {
		return stop("msk_message missing")
	}
	if m := reMSKConsumerLag.FindStringSubmatch(msg); m != nil {
		d.SetString(root, "msk_log_type", "ConsumerLag")
		for i, k := range []string{"msk_group_id", "msk_topic", "msk_sum_lag", "msk_max_lag", "msk_time_lag"} {
			d.SetString(root, k, m[i+1])
		}
	}
	return underscoreToDots(d, "msk")
}
