// Package gen writes realistic, seeded AWS log objects for benchmarks, the
// demo and tests. Same seed, same bytes: runs compare.
package gen

import (
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"time"
)

// Generator writes n events of one log type to w in the type's object
// format, starting at t0.
type Generator interface {
	Name() string
	// Key is an AWS-style S3 key for an object of this type.
	Key(t0 time.Time, seq int) string
	Write(w io.Writer, n int, t0 time.Time) error
}

// New returns the generator for a log type (see Types).
func New(logType string, seed uint64) (Generator, error) {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	switch logType {
	case "vpcflowlogs":
		return &vpc{r: r}, nil
	case "alb":
		return &alb{r: r}, nil
	case "cloudtrail":
		return &cloudtrail{r: r}, nil
	case "cloudfront":
		return &cloudfront{r: r}, nil
	case "waf":
		return &waf{r: r}, nil
	case "guardduty":
		return &guardduty{r: r}, nil
	}
	return nil, fmt.Errorf("gen: no generator for log type %q", logType)
}

// Types lists the log types with a generator.
func Types() []string {
	return []string{"vpcflowlogs", "alb", "cloudtrail", "cloudfront", "waf", "guardduty"}
}

const account = "123456789012"

var regions = []string{"us-east-1", "us-west-2", "eu-west-1", "ap-northeast-1"}

func publicIP(r *rand.Rand) string {
	// Mostly a small pool (real traffic repeats addresses: caches matter),
	// sometimes anything routable.
	if r.IntN(4) > 0 {
		pool := []string{"198.51.100.23", "203.0.113.77", "8.8.8.8", "1.1.1.1", "52.95.110.1", "54.239.28.85", "93.184.216.34", "185.199.108.153", "140.82.112.3", "13.107.42.14"}
		return pool[r.IntN(len(pool))]
	}
	return fmt.Sprintf("%d.%d.%d.%d", 11+r.IntN(180), r.IntN(256), r.IntN(256), 1+r.IntN(254))
}

func privateIP(r *rand.Rand) string {
	return fmt.Sprintf("10.0.%d.%d", r.IntN(8), 1+r.IntN(254))
}

func hex(r *rand.Rand, n int) string {
	const digits = "0123456789abcdef"
	var b strings.Builder
	for range n {
		b.WriteByte(digits[r.IntN(16)])
	}
	return b.String()
}

func alnum(r *rand.Rand, n int) string {
	const digits = "0123456789abcdefghijklmnopqrstuvwxyz"
	var b strings.Builder
	for range n {
		b.WriteByte(digits[r.IntN(len(digits))])
	}
	return b.String()
}

// ---- VPC Flow Logs (default v2 format) ----

type vpc struct{ r *rand.Rand }

func (*vpc) Name() string { return "vpcflowlogs" }

func (g *vpc) Key(t0 time.Time, seq int) string {
	t := t0.UTC()
	return fmt.Sprintf("AWSLogs/%s/vpcflowlogs/us-east-1/%s/%s_vpcflowlogs_us-east-1_fl-0a1b2c3d4e5f6a7b8_%sZ_%08x.log.gz",
		account, t.Format("2006/01/02"), account, t.Format("20060102T1504"), seq)
}

func (g *vpc) Write(w io.Writer, n int, t0 time.Time) error {
	r := g.r
	if _, err := io.WriteString(w, "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n"); err != nil {
		return err
	}
	var b []byte
	for i := range n {
		b = b[:0]
		start := t0.Unix() + int64(i/50)
		if r.IntN(200) == 0 {
			b = fmt.Appendf(b, "2 %s eni-%s - - - - - - - %d %d - NODATA\n", account, hex(r, 17), start, start+60)
		} else {
			src, dst := privateIP(r), publicIP(r)
			sport, dport := 1024+r.IntN(64000), []int{443, 80, 53, 22, 3389, 123}[r.IntN(6)]
			if r.IntN(2) == 0 {
				src, dst = dst, src
				sport, dport = dport, sport
			}
			proto := []int{6, 6, 6, 17, 1}[r.IntN(5)]
			action := "ACCEPT"
			if r.IntN(10) == 0 {
				action = "REJECT"
			}
			b = fmt.Appendf(b, "2 %s eni-%s %s %s %d %d %d %d %d %d %d %s OK\n",
				account, hex(r, 17), src, dst, sport, dport, proto, 1+r.IntN(500), 40+r.IntN(900000), start, start+1+int64(r.IntN(59)), action)
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}

// ---- ALB access logs ----

type alb struct{ r *rand.Rand }

func (*alb) Name() string { return "alb" }

func (g *alb) Key(t0 time.Time, seq int) string {
	t := t0.UTC()
	return fmt.Sprintf("AWSLogs/%s/elasticloadbalancing/us-east-1/%s/%s_elasticloadbalancing_us-east-1_app.my-alb.0123456789abcdef_%sZ_10.0.1.25_%s.log.gz",
		account, t.Format("2006/01/02"), account, t.Format("20060102T1504"), alnum(g.r, 8))
}

var albPaths = []string{"/", "/index.html", "/api/v1/users?id=42", "/login", "/static/app.js", "/wp-login.php", "/api/v1/orders/123/items", "/health"}
var userAgents = []string{
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
	"curl/8.4.0", "ELB-HealthChecker/2.0",
	"Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
}

func (g *alb) Write(w io.Writer, n int, t0 time.Time) error {
	r := g.r
	var b []byte
	for i := range n {
		b = b[:0]
		ts := t0.Add(time.Duration(i) * 7 * time.Millisecond).UTC()
		typ := []string{"https", "https", "http", "h2"}[r.IntN(4)]
		status := []int{200, 200, 200, 301, 404, 500, 502}[r.IntN(7)]
		path := albPaths[r.IntN(len(albPaths))]
		client := publicIP(r)
		port := "443"
		scheme := "https"
		if typ == "http" {
			port, scheme = "80", "http"
		}
		cipher, proto := "ECDHE-RSA-AES128-GCM-SHA256", "TLSv1.2"
		if typ == "http" {
			cipher, proto = "-", "-"
		}
		target := fmt.Sprintf("10.0.1.%d:8080", 10+r.IntN(20))
		tstatus := fmt.Sprint(status)
		if status == 502 {
			target, tstatus = "-", "-"
		}
		b = fmt.Appendf(b, `%s %s app/my-alb/0123456789abcdef %s:%d %s %.3f %.3f %.3f %d %s %d %d "GET %s://my-alb-1234567890.us-east-1.elb.amazonaws.com:%s%s HTTP/1.1" "%s" %s %s arn:aws:elasticloadbalancing:us-east-1:%s:targetgroup/my-targets/73e2d6bc24d8a067 "Root=1-%08x-%s" "-" "arn:aws:acm:us-east-1:%s:certificate/12345678-1234-1234-1234-123456789012" 0 %s "forward" "-" "-" "%s" "%s" "-" "-" TID_%s`+"\n",
			typ, ts.Format("2006-01-02T15:04:05.000000Z"), client, 1024+r.IntN(60000), target,
			float64(r.IntN(3))/1000, float64(r.IntN(900))/1000, 0.0, status, tstatus, r.IntN(800), 200+r.IntN(20000),
			scheme, port, path, userAgents[r.IntN(len(userAgents))], cipher, proto, account,
			ts.Unix(), hex(r, 24), account, ts.Add(-10*time.Millisecond).Format("2006-01-02T15:04:05.000000Z"), target, tstatus, hex(r, 32))
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}

// ---- CloudTrail ----

type cloudtrail struct{ r *rand.Rand }

func (*cloudtrail) Name() string { return "cloudtrail" }

func (g *cloudtrail) Key(t0 time.Time, seq int) string {
	t := t0.UTC()
	return fmt.Sprintf("AWSLogs/%s/CloudTrail/us-east-1/%s/%s_CloudTrail_us-east-1_%sZ_%s.json.gz",
		account, t.Format("2006/01/02"), account, t.Format("20060102T1504"), alnum(g.r, 16))
}

func uuid(r *rand.Rand) string {
	return hex(r, 8) + "-" + hex(r, 4) + "-" + hex(r, 4) + "-" + hex(r, 4) + "-" + hex(r, 12)
}

var ctEvents = []struct{ source, name, params string }{
	{"s3.amazonaws.com", "GetObject", `{"bucketName":"app-data-%s","key":"reports/2025/q1.csv","Host":"app-data.s3.us-east-1.amazonaws.com"}`},
	{"ec2.amazonaws.com", "DescribeInstances", `{"instancesSet":{},"filterSet":{"items":[{"name":"instance-state-name","valueSet":{"items":[{"value":"running"}]}}]}}`},
	{"iam.amazonaws.com", "CreateAccessKey", `{"userName":"deploy-%s"}`},
	{"sts.amazonaws.com", "AssumeRole", `{"roleArn":"arn:aws:iam::123456789012:role/ci-%s","roleSessionName":"ci-run","durationSeconds":3600}`},
	{"kms.amazonaws.com", "Decrypt", `{"encryptionAlgorithm":"SYMMETRIC_DEFAULT","encryptionContext":{"aws:lambda:FunctionArn":"arn:aws:lambda:us-east-1:123456789012:function:fn-%s"}}`},
	{"signin.amazonaws.com", "ConsoleLogin", `null`},
	{"ec2.amazonaws.com", "AuthorizeSecurityGroupIngress", `{"groupId":"sg-%s","ipPermissions":{"items":[{"ipProtocol":"tcp","fromPort":22,"toPort":22,"ipRanges":{"items":[{"cidrIp":"0.0.0.0/0"}]}}]}}`},
}

func (g *cloudtrail) Write(w io.Writer, n int, t0 time.Time) error {
	r := g.r
	if _, err := io.WriteString(w, `{"Records":[`); err != nil {
		return err
	}
	var b []byte
	for i := range n {
		b = b[:0]
		if i > 0 {
			b = append(b, ',')
		}
		ev := ctEvents[r.IntN(len(ctEvents))]
		ts := t0.Add(time.Duration(i) * 113 * time.Millisecond).UTC().Format("2006-01-02T15:04:05Z")
		user := []string{"alice", "bob", "deploy-bot", "taro.yamada"}[r.IntN(4)]
		params := ev.params
		if strings.Contains(params, "%s") {
			params = fmt.Sprintf(params, alnum(r, 6))
		}
		region := regions[r.IntN(len(regions))]
		errPart := ""
		if r.IntN(12) == 0 {
			errPart = `"errorCode":"AccessDenied","errorMessage":"User: arn:aws:iam::123456789012:user/` + user + ` is not authorized to perform: ` + ev.name + `",`
		}
		resp := `null`
		extra := ""
		if ev.name == "ConsoleLogin" {
			resp = `{"ConsoleLogin":"Success"}`
			extra = `"additionalEventData":{"LoginTo":"https://console.aws.amazon.com/console/home","MobileVersion":"No","MFAUsed":"Yes"},`
		}
		b = fmt.Appendf(b, `{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","principalId":"AIDA%s","arn":"arn:aws:iam::%s:user/%s","accountId":"%s","accessKeyId":"AKIA%s","userName":"%s"},"eventTime":"%s","eventSource":"%s","eventName":"%s","awsRegion":"%s","sourceIPAddress":"%s","userAgent":"aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64","requestParameters":%s,"responseElements":%s,%s%s"requestID":"%s","eventID":"%s","readOnly":%t,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"%s","eventCategory":"Management","tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"%s.amazonaws.com"}}`,
			strings.ToUpper(alnum(r, 17)), account, user, account, strings.ToUpper(alnum(r, 16)), user, ts, ev.source, ev.name, region,
			publicIP(r), params, resp, extra, errPart, uuid(r), uuid(r), strings.HasPrefix(ev.name, "Describe") || strings.HasPrefix(ev.name, "Get"), account,
			strings.TrimSuffix(ev.source, ".amazonaws.com"))
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	_, err := io.WriteString(w, "]}\n")
	return err
}
