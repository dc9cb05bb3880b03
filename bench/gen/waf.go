package gen

import (
	"fmt"
	"io"
	"math/rand/v2"
	"time"
)

// ---- AWS WAF (v2) logs delivered straight to S3: one JSON object per line ----

type waf struct{ r *rand.Rand }

func (*waf) Name() string { return "waf" }

// Key follows WAF's direct-to-S3 layout (…/WAFLogs/<region>/<web ACL>/…_waflogs_…).
func (g *waf) Key(t0 time.Time, seq int) string {
	t := t0.UTC()
	return fmt.Sprintf("AWSLogs/%s/WAFLogs/us-east-1/my-webacl/%s/%s_waflogs_us-east-1_my-webacl_%sZ_%08x.log.gz",
		account, t.Format("2006/01/02/15/04"), account, t.Format("20060102T1504"), uint32(seq)^g.r.Uint32())
}

var wafRules = []struct{ id, typ, action, group, detail string }{
	{"Default_Action", "REGULAR", "ALLOW", "", `[]`},
	{"Default_Action", "REGULAR", "ALLOW", "", `[]`},
	{"Default_Action", "REGULAR", "ALLOW", "", `[]`},
	{"AWS-AWSManagedRulesCommonRuleSet", "MANAGED_RULE_GROUP", "BLOCK", "AWS#AWSManagedRulesCommonRuleSet", `[{"conditionType":"XSS","location":"QUERY_STRING","matchedData":["<script",">"]}]`},
	{"AWS-AWSManagedRulesSQLiRuleSet", "MANAGED_RULE_GROUP", "BLOCK", "AWS#AWSManagedRulesSQLiRuleSet", `[{"conditionType":"SQL_INJECTION","location":"QUERY_STRING","matchedData":["1","OR","1=1"]}]`},
	{"RateLimit-2000", "RATE_BASED", "BLOCK", "", `[]`},
}

var wafCountries = []string{"US", "JP", "DE", "GB", "FR", "BR", "IN", "CN", "RU", "NL"}

func (g *waf) Write(w io.Writer, n int, t0 time.Time) error {
	r := g.r
	var b []byte
	for i := range n {
		b = b[:0]
		ts := t0.Add(time.Duration(i) * 5 * time.Millisecond).UnixMilli()
		rule := wafRules[r.IntN(len(wafRules))]
		groups := `[]`
		if rule.group != "" {
			groups = fmt.Sprintf(`[{"ruleGroupId":"%s","terminatingRule":{"ruleId":"%s","action":"BLOCK","ruleMatchDetails":null},"nonTerminatingMatchingRules":[],"excludedRules":null,"customerConfig":null}]`, rule.group, []string{"CrossSiteScripting_QUERYARGUMENTS", "SQLi_QUERYARGUMENTS"}[r.IntN(2)])
		}
		rate := `[]`
		if rule.typ == "RATE_BASED" {
			rate = `[{"rateBasedRuleId":"7d2e9b1c-4a5f-4e8e-9c1a-0b2c3d4e5f60","rateBasedRuleName":"RateLimit-2000","limitKey":"IP","maxRateAllowed":2000,"evaluationWindowSec":"300","customValues":[]}]`
		}
		path := albPaths[r.IntN(len(albPaths))]
		args := ""
		if rule.group == "AWS#AWSManagedRulesCommonRuleSet" {
			args = "q=%3Cscript%3Ealert(1)%3C/script%3E"
		} else if rule.group == "AWS#AWSManagedRulesSQLiRuleSet" {
			args = "id=1%20OR%201=1"
		}
		labels := `null`
		if rule.action == "BLOCK" {
			labels = `[{"name":"awswaf:managed:aws:core-rule-set:CrossSiteScripting_QueryArguments"}]`
		}
		b = fmt.Appendf(b, `{"timestamp":%d,"formatVersion":1,"webaclId":"arn:aws:wafv2:us-east-1:%s:regional/webacl/my-webacl/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d","terminatingRuleId":"%s","terminatingRuleType":"%s","action":"%s","terminatingRuleMatchDetails":%s,"httpSourceName":"ALB","httpSourceId":"%s-app/my-alb/0123456789abcdef","ruleGroupList":%s,"rateBasedRuleList":%s,"nonTerminatingMatchingRules":[],"requestHeadersInserted":null,"responseCodeSent":null,"httpRequest":{"clientIp":"%s","country":"%s","headers":[{"name":"Host","value":"www.example.com"},{"name":"User-Agent","value":"%s"},{"name":"Accept","value":"*/*"},{"name":"Accept-Encoding","value":"gzip, deflate, br"},{"name":"X-Forwarded-Proto","value":"https"}],"uri":"%s","args":"%s","httpVersion":"HTTP/1.1","httpMethod":"%s","requestId":"1-%08x-%s"},"labels":%s}`+"\n",
			ts, account, rule.id, rule.typ, rule.action, rule.detail, account, groups, rate,
			publicIP(r), wafCountries[r.IntN(len(wafCountries))], userAgents[r.IntN(len(userAgents))], path, args,
			[]string{"GET", "GET", "GET", "POST", "PUT"}[r.IntN(5)], ts/1000, hex(r, 24), labels)
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}
