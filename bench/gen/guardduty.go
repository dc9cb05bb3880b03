package gen

import (
	"fmt"
	"io"
	"math/rand/v2"
	"time"
)

// ---- GuardDuty findings exported to S3: one JSON finding per line ----

type guardduty struct{ r *rand.Rand }

func (*guardduty) Name() string { return "guardduty" }

// Key follows GuardDuty's S3 export layout (…/GuardDuty/<region>/YYYY/MM/DD/<uuid>.jsonl.gz).
func (g *guardduty) Key(t0 time.Time, seq int) string {
	t := t0.UTC()
	return fmt.Sprintf("AWSLogs/%s/GuardDuty/us-east-1/%s/%s.jsonl.gz", account, t.Format("2006/01/02"), uuid(g.r))
}

// remoteIP is the remoteIpDetails object GuardDuty attaches to an action.
func gdRemote(r *rand.Rand) string {
	ip := publicIP(r)
	c := []struct{ country, code, city string }{
		{"China", "CN", "Shanghai"}, {"Russia", "RU", "Moscow"}, {"United States", "US", "Ashburn"},
		{"Netherlands", "NL", "Amsterdam"}, {"Brazil", "BR", "Sao Paulo"},
	}[r.IntN(5)]
	return fmt.Sprintf(`{"ipAddressV4":"%s","organization":{"asn":"%d","asnOrg":"Example Hosting %d","isp":"Example ISP","org":"Example Org"},"country":{"countryCode":"%s","countryName":"%s"},"city":{"cityName":"%s"},"geoLocation":{"lat":%.4f,"lon":%.4f}}`,
		ip, 1000+r.IntN(60000), r.IntN(100), c.code, c.country, c.city, -60+120*r.Float64(), -180+360*r.Float64())
}

func (g *guardduty) Write(w io.Writer, n int, t0 time.Time) error {
	r := g.r
	var b []byte
	for i := range n {
		b = b[:0]
		updated := t0.Add(time.Duration(i) * 900 * time.Millisecond).UTC()
		created := updated.Add(-time.Duration(r.IntN(72)) * time.Hour)
		id := hex(r, 32)
		instance := "i-" + hex(r, 17)
		priv := privateIP(r)
		var typ, title, desc, action string
		severity := []float64{2, 5, 5, 8}[r.IntN(4)]
		switch r.IntN(4) {
		case 0:
			port := []int{22, 3389, 445, 5432}[r.IntN(4)]
			typ, title = "Recon:EC2/PortProbeUnprotectedPort", fmt.Sprintf("Unprotected port on EC2 instance %s is being probed.", instance)
			desc = fmt.Sprintf("EC2 instance has an unprotected port %d which is being probed by a known malicious host.", port)
			action = fmt.Sprintf(`{"actionType":"PORT_PROBE","portProbeAction":{"portProbeDetails":[{"localPortDetails":{"port":%d,"portName":"SSH"},"localIpDetails":{"ipAddressV4":"%s"},"remoteIpDetails":%s}],"blocked":false}}`, port, priv, gdRemote(r))
		case 1:
			typ, title = "UnauthorizedAccess:EC2/SSHBruteForce", fmt.Sprintf("SSH brute force attacks against %s.", instance)
			desc = "EC2 instance has been involved in SSH brute force attacks."
			action = fmt.Sprintf(`{"actionType":"NETWORK_CONNECTION","networkConnectionAction":{"connectionDirection":"INBOUND","remoteIpDetails":%s,"remotePortDetails":{"port":%d,"portName":"Unknown"},"localPortDetails":{"port":22,"portName":"SSH"},"protocol":"TCP","blocked":false,"localIpDetails":{"ipAddressV4":"%s"}}}`, gdRemote(r), 1024+r.IntN(60000), priv)
		case 2:
			typ, title = "Recon:IAMUser/MaliciousIPCaller", "Reconnaissance API ListBuckets was invoked from a known malicious IP address."
			desc = "API ListBuckets, commonly used in reconnaissance attacks, was invoked from a known malicious IP address."
			action = fmt.Sprintf(`{"actionType":"AWS_API_CALL","awsApiCallAction":{"api":"ListBuckets","serviceName":"s3.amazonaws.com","callerType":"Remote IP","remoteIpDetails":%s,"affectedResources":{},"errorCode":"AccessDenied"}}`, gdRemote(r))
		default:
			typ, title = "Trojan:EC2/DNSDataExfiltration", fmt.Sprintf("Data exfiltration through DNS queries from EC2 instance %s.", instance)
			desc = "EC2 instance is attempting to query domain names that resemble exfiltrated data."
			action = fmt.Sprintf(`{"actionType":"DNS_REQUEST","dnsRequestAction":{"domain":"%s.exfil-example.com","protocol":"UDP","blocked":false}}`, alnum(r, 24))
		}
		b = fmt.Appendf(b, `{"schemaVersion":"2.0","accountId":"%s","region":"us-east-1","partition":"aws","id":"%s","arn":"arn:aws:guardduty:us-east-1:%s:detector/12abc34d567e8fa901bc2d34e56789f0/finding/%s","type":"%s","resource":{"resourceType":"Instance","instanceDetails":{"instanceId":"%s","instanceType":"t3.medium","launchTime":"%s","platform":null,"productCodes":[],"iamInstanceProfile":{"arn":"arn:aws:iam::%s:instance-profile/web","id":"AIPA%s"},"networkInterfaces":[{"ipv6Addresses":[],"networkInterfaceId":"eni-%s","privateDnsName":"ip-%s.ec2.internal","privateIpAddress":"%s","privateIpAddresses":[{"privateDnsName":"ip-%s.ec2.internal","privateIpAddress":"%s"}],"subnetId":"subnet-%s","vpcId":"vpc-%s","securityGroups":[{"groupName":"web","groupId":"sg-%s"}],"publicDnsName":"","publicIp":"%s"}],"outpostArn":null,"tags":[{"key":"Name","value":"web-%d"},{"key":"env","value":"prod"}],"instanceState":"running","availabilityZone":"us-east-1a","imageId":"ami-%s","imageDescription":"Amazon Linux 2023"}},"service":{"serviceName":"guardduty","detectorId":"12abc34d567e8fa901bc2d34e56789f0","action":%s,"resourceRole":"TARGET","additionalInfo":{"value":"{}","type":"default"},"evidence":null,"eventFirstSeen":"%s","eventLastSeen":"%s","archived":false,"count":%d},"severity":%g,"createdAt":"%s","updatedAt":"%s","title":"%s","description":"%s"}`+"\n",
			account, id, account, id, typ, instance, created.Add(-240*time.Hour).Format("2006-01-02T15:04:05.000Z"), account, alnum(r, 17),
			hex(r, 17), priv, priv, priv, priv, hex(r, 17), hex(r, 17), hex(r, 17), publicIP(r), r.IntN(20), hex(r, 17),
			action, created.Format("2006-01-02T15:04:05.000Z"), updated.Format("2006-01-02T15:04:05.000Z"), 1+r.IntN(50),
			severity, created.Format("2006-01-02T15:04:05.000Z"), updated.Format("2006-01-02T15:04:05.000Z"), title, desc)
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}
