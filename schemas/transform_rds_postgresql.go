package schemas

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/siemstream/siemstream/internal/doc"
)

// Go transform of the rds-postgresql log type (es-loader's
// sf_rds_postgresql.py).

func init() {
	RegisterTransform("rds_postgresql", transformRDSPostgreSQL)
}

var rePGAuthFailed = regexp.MustCompile(`authentication failed`)

var rePGAuthSuccess = regexp.MustCompile(`connection authorized`)

var rePGSessionTime = mustPy("pg_session", `^disconnection: session time: (\d+):(\d{2}):([\d.]+)`)

var rePGStatement = mustPy("pg_statement", `^statement:\s+(\w+.*)`)

var rePGDuration = mustPy("pg_duration", `^duration:\s+(?P<duration>[\d.]+)\s+ms(\s*(?P<step>(parse|bind|execute))?.*?:\s+(?P<statement>.*))?`)

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
