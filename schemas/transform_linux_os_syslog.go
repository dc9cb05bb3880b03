package schemas

import (
	"regexp"
	"strings"

	"github.com/siemstream/siemstream/internal/doc"
)

// Go transform of the linux-os-syslog log type, shared with linux-secure
// (es-loader's sf_linux_os_syslog.py and sf_linux_secure.py).

func init() {
	RegisterTransform("linux_os_syslog", func(tc *TransformContext) error { return transformLinux(tc, true) })
	RegisterTransform("linux_secure", func(tc *TransformContext) error { return transformLinux(tc, false) })
}

// sshd and sudo messages, tried in order (first match wins).
var (
	reSSHD = []*regexp.Regexp{
		mustPy("sshd", `(?P<action>Accepted|Failed|failure|Invalid user|invalid user)\s.*?((publickey|password|none) for )?(invalid user )?(?P<user>\S+)(\s+from.*?(?P<source_ip>\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}))?(\s+port\s+(?P<source_port>\d+))?`),
		mustPy("sshd", `^(?P<action>(Disconnected|Received disconnect)) from (?P<source_ip>[^ ]*) port (?P<source_port>\d+)`),
		mustPy("sshd", `^(?P<action>error): AuthorizedKeysCommand \S+ (?P<user>\S+) (SHA|RSA)`),
		mustPy("sshd", `^pam_unix(\S+): (?P<action>session closed) for user (?P<user>\S+)`),
		mustPy("sshd", `^pam_unix(\S+): (?P<action>session opened) for user \S+ by (?P<user>\S*)\(`),
		mustPy("sshd", `^(?P<action>Connection (reset|closed))\s+by\s+(?P<source_ip>\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})\s+port\s+(?P<source_port>\d+)`),
		mustPy("sshd", `.+\s+(from|with)\s+(?P<source_ip>\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})\s+port\s+(?P<source_port>\d+)`),
		mustPy("sshd", `^(?P<action>reverse mapping checking).*\[(?P<source_ip>\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})\]`),
		mustPy("sshd", `\s(?P<source_ip>\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})\s`),
	}
	reSudo = []*regexp.Regexp{
		mustPy("sudo", `^(?P<user>\S+) : .*COMMAND=(?P<action>.*)`),
		mustPy("sudo", `^pam_unix(\S+): (?P<action>session closed) for user (?P<user>\S+)`),
		mustPy("sudo", `^pam_unix(\S+): (?P<action>session opened) for user \S+ by (?P<user>\S*)\(`),
	}
)

// transformLinux follows sf_linux_os_syslog (and sf_linux_secure, which
// does the same without changing the index): the EC2 instance id from the
// log stream; sshd messages give event.action/category/outcome, user.name,
// source.ip/port and event.module "secure"; sudo messages the command and
// user; related.user/ip. For syslog, sshd, sudo and su lines go to
// log-linux-secure.
func transformLinux(tc *TransformContext, reroute bool) error {
	d := tc.Doc
	root := d.Root()
	proc, _ := str(d, root, "proc")
	ld := d.NewObject()
	if id := instanceIDFromText(strOr(d, root, "@log_stream")); id != "" {
		host := d.Child(root, "hostname")
		if host == doc.Nil {
			return stop("hostname missing")
		}
		d.SetString(d.SetObject(d.SetObject(ld, "cloud"), "instance"), "id", id)
		h := d.SetArray(d.SetObject(ld, "related"), "hosts")
		d.AppendCopy(h, host)
		d.AppendString(h, id)
	}
	msg := func() (string, error) {
		s, ok := str(d, root, "syslog_message")
		if !ok {
			return "", stop("syslog_message missing")
		}
		return s, nil
	}
	// secure: an sshd or sudo record, which es-loader files under
	// linux-secure (event.module secure), matched with res.
	secure := func(res []*regexp.Regexp) (doc.Node, map[string]*string, error) {
		if reroute {
			tc.IndexName = "log-linux-secure"
		}
		s, err := msg()
		if err != nil {
			return doc.Nil, nil, err
		}
		ev := d.SetObject(ld, "event")
		d.SetString(ev, "module", "secure")
		return ev, pyGroups(res, s), nil
	}
	var user, srcIP, srcPort *string
	var hasUser, hasSource bool
	switch {
	case strings.Contains(proc, "sshd"):
		ev, g, err := secure(reSSHD)
		if err != nil {
			return err
		}
		if u, ok := g["user"]; ok {
			user, hasUser = u, true
		}
		if ip, ok := g["source_ip"]; ok {
			srcIP, hasSource = ip, true
			empty := ""
			srcPort = &empty
			if p, ok := g["source_port"]; ok {
				srcPort = p
			}
		}
		if a, ok := g["action"]; ok {
			d.SetString(ev, "category", "authentication")
			if a == nil {
				return stop("action is None")
			}
			d.SetString(ev, "action", *a)
			act := strings.ToLower(*a)
			switch {
			case strings.Contains(act, "accept") || strings.Contains(act, "opened"):
				d.SetString(ev, "outcome", "success")
			case strings.Contains(act, "fail") || strings.Contains(act, "invalid") || strings.Contains(act, "err"):
				d.SetString(ev, "outcome", "failure")
			case strings.Contains(act, "disconnect") || strings.Contains(act, "reset") || strings.Contains(act, "close"):
			default:
				d.SetString(ev, "outcome", "unknown")
			}
		}
	case strings.Contains(proc, "sudo"):
		ev, g, err := secure(reSudo)
		if err != nil {
			return err
		}
		if u, ok := g["user"]; ok {
			user, hasUser = u, true
		}
		if a, ok := g["action"]; ok {
			ev = freshObject(d, ld, "event") // replaced: module is dropped
			if a == nil {
				d.SetNull(ev, "action")
			} else {
				d.SetString(ev, "action", *a)
			}
			d.SetString(ev, "outcome", "success")
		}
	case proc == "su" && reroute:
		tc.IndexName = "log-linux-secure"
	}
	if hasUser {
		setOptString(d, d.SetObject(ld, "user"), "name", user)
	}
	if hasSource {
		src := d.SetObject(ld, "source")
		setOptString(d, src, "ip", srcIP)
		setOptString(d, src, "port", srcPort)
	}
	// extract_related_ip_user: plain values, not lists
	rel := d.Child(ld, "related")
	if rel == doc.Nil {
		rel = d.SetObject(ld, "related")
	}
	if hasUser {
		setOptString(d, rel, "user", user)
	}
	if hasSource {
		setOptString(d, rel, "ip", srcIP)
	}
	d.Merge(root, ld)
	return nil
}
