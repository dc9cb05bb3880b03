package schemas

import "testing"

// TestDetectBuiltinOrder: the type of each key is the one es-loader v2.10.4
// picks with its aws.ini (the first section, in file order, whose s3_key is
// found in the key; computed with its configparser and re). "" = no type.
func TestDetectBuiltinOrder(t *testing.T) {
	r, err := Load(Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ key, want string }{
		{"aws-security-data-lake-us-east-1-o1b2c3/aws/CLOUD_TRAIL_MGMT/2.0/region=us-east-1/accountId=123456789012/eventDay=20250314/0a1b2c3d4e5f60718293a4b5c6d7e8f9.gz.parquet", "securitylake"},
		{"ext/SecurityLake/custom/app-events/2025/03/14/events.parquet", "securitylake"},
		{"ocsf-json/123456789012/us-east-1/2025/03/14/11/custom-source.json", "ocsf-json"},
		{"AWSLogs/123456789012/vpcflowlogs/us-east-1/2025/03/14/123456789012_vpcflowlogs_us-east-1_fl-0a1b2c3d_20250314T1155Z_5f3e2a1b.log.gz", "vpcflowlogs"},
		{"AWSLogs/123456789012/CloudTrail/us-east-1/2025/03/14/123456789012_CloudTrail_us-east-1_20250314T1155Z_hX3kP9qLmN2rT7vW.json.gz", "cloudtrail"},
		{"AWSLogs/123456789012/CloudTrail-Insight/us-east-1/2025/03/14/123456789012_CloudTrail-Insight_us-east-1_20250314T1155Z_a.json.gz", "cloudtrail"},
		{"AWSLogs/123456789012/CloudTrail-Digest/us-east-1/2025/03/14/123456789012_CloudTrail-Digest_us-east-1_trail_us-east-1_20250314T115500Z.json.gz", ""},
		{"AWSLogs/123456789012/network-firewall/alert/us-east-1/2025/03/14/11/123456789012_network-firewall_alert_us-east-1_egress-fw_202503141100_4f2a9c1d.log.gz", "networkfirewall"},
		{"AWSLogs/123456789012/network-firewall/flow/us-east-1/2025/03/14/11/123456789012_network-firewall_flow_us-east-1_egress-fw_202503141100_4f2a9c1d.log.gz", "networkfirewall"},
		{"AWSLogs/123456789012/GuardDuty/us-east-1/2025/03/14/9e1f2c3a-4b5d-4c6e-8f70-a1b2c3d4e5f6.jsonl.gz", "guardduty"},
		{"AWSLogs/123456789012/Inspector2_Finding/us-east-1/2025/03/14/x.json", "inspector"},
		{"AWSLogs/123456789012/SecurityHub/us-east-1/2025/03/14/11/aes-siem-securityhub-1-2025-03-14-11-10-00-0a1b2c3d.gz", "securityhub"},
		{"AWSLogs/123456789012/elasticloadbalancing/us-east-1/2025/03/14/123456789012_elasticloadbalancing_us-east-1_net.nlb-prod.c6e77e28c25b2234_20250314T1155Z_g3d4b5e8.log.gz", "nlb"},
		{"AWSLogs/123456789012/elasticloadbalancing/us-east-1/2025/03/14/123456789012_elasticloadbalancing_us-east-1_app.web-prod-alb.50dc6c495c0c9188_20250314T1155Z_10.20.1.25_1ab2c3d4.log.gz", "alb"},
		{"AWSLogs/123456789012/elasticloadbalancing/us-east-1/2025/03/14/123456789012_elasticloadbalancing_us-east-1_web-clb_20250314T1155Z_10.20.1.25_1ab2c3d4.log", "clb"},
		{"s3-access-logs/prod-assets-bucket/2025-03-14-11-05-27-0A1B2C3D4E5F6A7B", "s3accesslog"},
		{"AWSLogs/123456789012/Config/us-east-1/2025/3/14/ConfigHistory/123456789012_Config_us-east-1_ConfigHistory_AWS::EC2::Instance_20250314T110527Z_20250314T111014Z_1.json.gz", "config-history"},
		{"AWSLogs/123456789012/Config/us-east-1/2025/3/14/ConfigSnapshot/123456789012_Config_us-east-1_ConfigSnapshot_20250314T110527Z_5e6f7a8b.json.gz", "config-snapshot"},
		{"AWSLogs/123456789012/Config/us-east-1/ConfigRules/2025/03/14/config-rules-compliance-20250314T110800Z.json", "config-rules"},
		{"AWSLogs/123456789012/CloudFront/E2QWRUHAPOMQZL/realtime/2025/03/14/11/cf-realtime-1-2025-03-14-11-05-00-0a1b2c3d.gz", "cloudfront-realtime"},
		{"AWSLogs/123456789012/CloudFront/E2QWRUHAPOMQZL.2025-03-14-11.a1b2c3d4.gz", "cloudfront-standard"},
		{"E2QWRUHAPOMQZL.2025-03-14-11.a1b2c3d4.gz", "cloudfront-standard"},
		{"firehose/aws-waf-logs-web-prod/2025/03/14/11/aws-waf-logs-web-prod-1-2025-03-14-11-05-00-5b6c7d8e.gz", "waf"},
		{"AWSLogs/123456789012/WAFLogs/us-east-1/web-acl/2025/03/14/11/05/123456789012_waflogs_us-east-1_web-acl_20250314T1105Z_0a1b2c3d.log.gz", "waf"},
		{"AWSLogs/123456789012/vpcdnsquerylogs/vpc-0123abcd/2025/03/14/vpc-0123abcd_vpcdnsquerylogs_123456789012_20250314T1105Z_7e9a1b3c.log.gz", "route53resolver"},
		{"AWSLogs/123456789012/ClientVPN/us-east-1/2025/03/14/11/aes-siem-clientvpn-1.gz", "clientvpn"},
		{"AWSLogs/123456789012/RDS/PostgreSQL/us-east-1/2025/03/14/11/x.gz", "rds-postgresql"},
		{"AWSLogs/123456789012/RDS/MySQL/audit/us-east-1/2025/03/14/11/x.gz", "rds-mysql-audit"},
		{"AWSLogs/123456789012/RDS/MariaDB/general/us-east-1/2025/03/14/11/x.gz", "rds-mysql-general"},
		{"AWSLogs/123456789012/RDS/mysql/error/us-east-1/2025/03/14/11/x.gz", "rds-mysql-error"},
		{"AWSLogs/123456789012/RDS/MySQL/slowquery/us-east-1/2025/03/14/11/x.gz", "rds-mysql-slowquery"},
		{"firehose/elasticache/redis-slowlog/prod-cache/2025/03/14/11/x.gz", "elasticache-redis-slowlog"},
		{"AWSLogs/123456789012/KafkaBrokerLogs/us-east-1/orders-cluster-5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9-2/2025-03-14-11/Broker-2_11-05_0a1b2c3d.log.gz", "msk"},
		{"AWSLogs/123456789012/CloudHSM/us-east-1/2025/03/14/11/x.gz", "cloudhsm"},
		{"AWSLogs/123456789012/OpenSearch/audit/us-east-1/2025/03/14/11/x.gz", "opensearch-audit"},
		{"AWSLogs/123456789012/WorkSpaces/Event/2025/03/14/11/x.gz", "workspaces-event"},
		{"AWSLogs/123456789012/WorkSpaces/Inventory/2025/03/14/x.json", "workspaces-inventory"},
		{"AWSLogs/123456789012/TrustedAdvisor/us-east-1/2025/03/14/x.json", "trustedadvisor"},
		{"AWSLogs/123456789012/DirectoryService/MicrosoftAD/d-9067a1b2c3/2025/03/14/x.gz", "directory-service"},
		{"AWSLogs/123456789012/FSx/aws-fsx-fs-0a1b2c3d/2025/03/14/x.gz", "fsx-win"},
		{"AWSLogs/123456789012/CWL/Windows/Event/us-east-1/2025/03/14/x.gz", "windows-event"},
		{"AWSLogs/123456789012/CWL/linux/secure/us-east-1/2025/03/14/x.gz", "linux-secure"},
		{"AWSLogs/123456789012/CWL/Linux/us-east-1/2025/03/14/x.gz", "linux-os-syslog"},
		{"AWSLogs/123456789012/CWL/apache/access/us-east-1/x.gz", "apache-access"},
		{"AWSLogs/123456789012/CWL/Apache/error/us-east-1/x.gz", "apache-error"},
		{"AWSLogs/123456789012/CWL/nginx/access/us-east-1/x.gz", "nginx-access"},
		{"AWSLogs/123456789012/CWL/Nginx/error/us-east-1/x.gz", "nginx-error"},
		{"AWSLogs/123456789012/OpenSearch/metrics/2025/03/14/index-metrics.json", "index-metrics"},
		{"AWSLogs/123456789012/securityhub/guardduty/2025/03/14/x.gz", "securityhub"},
		{"AWSLogs/123456789012/CWL/linux/apache/access/x.gz", "linux-os-syslog"},
		{"AWSLogs/123456789012/RDS/aurora-postgresql-error/x.gz", "rds-postgresql"},
		{"AWSLogs/123456789012/GuardDuty/WorkSpaces/event/x.gz", "guardduty"},
		{"AWSLogs/123456789012/ELB/some-other-file.txt", ""},
		{"AWSLogs/123456789012/vpcflowlogs/us-east-1/2025/03/14/", ""},
	} {
		lt, _ := r.Detect(c.key)
		got := ""
		if lt != nil {
			got = lt.Name
		}
		if got != c.want {
			t.Errorf("%s: %q, es-loader %q", c.key, got, c.want)
		}
	}
}
