package aws

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/siemstream/siemstream/internal/e2e"
)

// motoSkips are the resource types moto 5.2.1 accepts in a template but does
// not create (the stack still reaches CREATE_COMPLETE). TestSkippedByMoto
// checks them on the template instead.
var motoSkips = map[string]bool{
	"AWS::SQS::QueuePolicy":                       true,
	"AWS::ApplicationAutoScaling::ScalableTarget": true,
	"AWS::ApplicationAutoScaling::ScalingPolicy":  true,
	"AWS::CloudWatch::Alarm":                      true,
}

type cli struct {
	t        *testing.T
	bin, url string
}

// run calls the aws CLI against moto and decodes its JSON answer.
func (c cli) run(args ...string) map[string]any {
	c.t.Helper()
	out, err := c.try(args...)
	if err != nil {
		c.t.Fatal(err)
	}
	return out
}

func (c cli) try(args ...string) (map[string]any, error) {
	cmd := exec.Command(c.bin, append([]string{"--endpoint-url", c.url, "--output", "json"}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("aws %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	m := map[string]any{}
	if len(bytes.TrimSpace(b)) > 0 {
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("aws %s: %v: %s", strings.Join(args, " "), err, b)
		}
	}
	return m, nil
}

// waitStack polls until the stack leaves its *_IN_PROGRESS state.
func (c cli) waitStack(name string, timeout time.Duration) string {
	c.t.Helper()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	expired := time.After(timeout)
	for {
		out, err := c.try("cloudformation", "describe-stacks", "--stack-name", name)
		if err != nil {
			if strings.Contains(err.Error(), "does not exist") {
				return "DELETED"
			}
			c.t.Fatal(err)
		}
		st := out["Stacks"].([]any)[0].(map[string]any)["StackStatus"].(string)
		if !strings.HasSuffix(st, "_IN_PROGRESS") {
			return st
		}
		select {
		case <-expired:
			c.t.Fatalf("stack %s still %s after %s", name, st, timeout)
		case <-tick.C:
		}
	}
}

func get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			l, _ := v.([]any)
			if k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

// TestDeployMoto deploys the template into the local moto server (the
// CloudFormation API, with create-stack: moto leaves Outputs empty after the
// change-set path of `cloudformation deploy`) and checks what moto creates.
func TestDeployMoto(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: skipped with -short")
	}
	root, err := e2e.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := e2e.LoadEnv(root); err != nil || !ok {
		t.Skipf("local stack not started (%v): run `go tool task up`", err)
	}
	// The pinned aws CLI, set by `go tool task test:deploy` (infra/aws/tools.sh aws), which runs
	// this test once; `go test ./...` skips it.
	bin := os.Getenv("SIEM_AWS_CLI")
	if bin == "" {
		t.Skip("run by `go tool task test:deploy` (SIEM_AWS_CLI: a pinned aws CLI)")
	}
	c := cli{t: t, bin: bin, url: os.Getenv("SIEM_AWS_ENDPOINT")}
	if c.url == "" {
		t.Skip("SIEM_AWS_ENDPOINT unset")
	}
	rnd := make([]byte, 4)
	rand.Read(rnd)
	id := hex.EncodeToString(rnd)
	stack, app := "siemstream-deploy-"+id, "siemstream-deploy-"+id

	// The network the services run in.
	vpc := get(c.run("ec2", "create-vpc", "--cidr-block", "10.42.0.0/16"), "Vpc", "VpcId").(string)
	subnet := get(c.run("ec2", "create-subnet", "--vpc-id", vpc, "--cidr-block", "10.42.1.0/24"), "Subnet", "SubnetId").(string)
	sg := get(c.run("ec2", "create-security-group", "--group-name", stack, "--description", "siemstream test", "--vpc-id", vpc), "GroupId").(string)
	t.Cleanup(func() {
		c.try("ec2", "delete-security-group", "--group-id", sg)
		c.try("ec2", "delete-subnet", "--subnet-id", subnet)
		c.try("ec2", "delete-vpc", "--vpc-id", vpc)
	})

	body, err := os.ReadFile(templateFile)
	if err != nil {
		t.Fatal(err)
	}
	params := map[string]string{
		"OpenSearchEndpoint": "https://search-aes-siem-test.us-east-1.es.amazonaws.com",
		"OpenSearchArn":      "arn:aws:es:us-east-1:123456789012:domain/aes-siem",
		"LogBucketArns":      "arn:aws:s3:::" + stack + "-log,arn:aws:s3:::" + stack + "-archive",
		"SubnetIds":          subnet,
		"SecurityGroupIds":   sg,
		"ImageUri":           "123456789012.dkr.ecr.us-east-1.amazonaws.com/siemstream:test",
		"ImageRepositoryArn": "arn:aws:ecr:us-east-1:123456789012:repository/siemstream",
		"StreamMode":         "PROVISIONED",
		"ShardCount":         "2",
		"AppName":            app,
		"EnrichmentBucket":   stack + "-geo",
		"ExcludeCsvS3Uri":    "s3://" + stack + "-geo/exclude_log_patterns.csv",
		"AlarmEmail":         "siem-ops@example.com",
		// A cross-account source, so the producer's conditional
		// sts:AssumeRole statement exists and is checked like the others.
		"AssumeRoleArns": "arn:aws:iam::111122223333:role/siem-log-archive-reader",
	}
	args := []string{"cloudformation", "create-stack", "--stack-name", stack, "--template-body", string(body),
		"--capabilities", "CAPABILITY_IAM", "--parameters"}
	for k, v := range params {
		// ParameterKey=K,ParameterValue=V; a comma inside a value is escaped for the CLI.
		args = append(args, fmt.Sprintf("ParameterKey=%s,ParameterValue=%s", k, strings.ReplaceAll(v, ",", `\,`)))
	}
	c.run(args...)
	t.Cleanup(func() {
		if _, err := c.try("cloudformation", "delete-stack", "--stack-name", stack); err != nil {
			t.Errorf("delete stack: %v", err)
			return
		}
		if st := c.waitStack(stack, 2*time.Minute); st != "DELETE_COMPLETE" && st != "DELETED" {
			t.Errorf("stack %s: %s after delete", stack, st)
		}
	})
	if st := c.waitStack(stack, 3*time.Minute); st != "CREATE_COMPLETE" {
		events := c.run("cloudformation", "describe-stack-events", "--stack-name", stack)
		t.Fatalf("stack %s: %s; events: %v", stack, st, events)
	}
	desc := c.run("cloudformation", "describe-stacks", "--stack-name", stack)
	outputs := map[string]string{}
	for _, o := range get(desc, "Stacks", 0, "Outputs").([]any) {
		outputs[get(o, "OutputKey").(string)] = fmt.Sprint(get(o, "OutputValue"))
	}
	for _, k := range []string{"QueueUrl", "QueueArn", "DeadLetterQueueUrl", "StreamName", "StreamArn", "LeaseTableName",
		"ProducerTaskRoleArn", "ConsumerTaskRoleArn", "ClusterName", "ConsumerTaskDefinitionArn", "AlarmTopicArn"} {
		if outputs[k] == "" {
			t.Errorf("output %s missing (outputs %v)", k, outputs)
		}
	}

	// Which template resources moto created, and which it skipped.
	tpl := loadTemplate(t)
	created := map[string]bool{}
	for _, r := range get(c.run("cloudformation", "list-stack-resources", "--stack-name", stack), "StackResourceSummaries").([]any) {
		id, _ := get(r, "LogicalResourceId").(string)
		created[id] = true
	}
	var skipped []string
	for name, r := range tpl["Resources"].(map[string]any) {
		typ := r.(map[string]any)["Type"].(string)
		if cond, ok := r.(map[string]any)["Condition"]; ok && (cond == "IsServerless") {
			continue // not in this configuration
		}
		if created[name] {
			continue
		}
		skipped = append(skipped, name+" ("+typ+")")
		if !motoSkips[typ] {
			t.Errorf("moto did not create %s (%s)", name, typ)
		}
	}
	sort.Strings(skipped)
	t.Logf("moto skipped (checked by TestSkippedByMoto instead): %s", strings.Join(skipped, ", "))

	// Stream.
	ss := c.run("kinesis", "describe-stream-summary", "--stream-name", outputs["StreamName"])
	if get(ss, "StreamDescriptionSummary", "OpenShardCount") != 2.0 || get(ss, "StreamDescriptionSummary", "RetentionPeriodHours") != 24.0 {
		t.Errorf("stream: %v", ss)
	}
	// Lease table: the KCL schema, on demand.
	td := c.run("dynamodb", "describe-table", "--table-name", app)
	if ks := fmt.Sprint(get(td, "Table", "KeySchema")); ks != "[map[AttributeName:leaseKey KeyType:HASH]]" {
		t.Errorf("lease table key schema %s", ks)
	}
	if bm := get(td, "Table", "BillingModeSummary", "BillingMode"); bm != "PAY_PER_REQUEST" {
		t.Errorf("lease table billing %v", bm)
	}
	// moto ignores PointInTimeRecoverySpecification (TestSkippedByMoto checks it on the template).
	if pitr := get(c.run("dynamodb", "describe-continuous-backups", "--table-name", app),
		"ContinuousBackupsDescription", "PointInTimeRecoveryDescription", "PointInTimeRecoveryStatus"); pitr != "ENABLED" {
		t.Logf("moto dropped: lease table point-in-time recovery is %v", pitr)
	}
	// Queues and redrive.
	qa := c.run("sqs", "get-queue-attributes", "--queue-url", outputs["QueueUrl"], "--attribute-names", "All")
	var redrive map[string]any
	json.Unmarshal([]byte(fmt.Sprint(get(qa, "Attributes", "RedrivePolicy"))), &redrive)
	if redrive["deadLetterTargetArn"] != outputs["DeadLetterQueueArn"] || fmt.Sprint(redrive["maxReceiveCount"]) != "5" {
		t.Errorf("redrive policy %v, want the DLQ %s after 5 receives", redrive, outputs["DeadLetterQueueArn"])
	}
	if sse := get(qa, "Attributes", "SqsManagedSseEnabled"); sse != "true" {
		t.Errorf("queue SSE %v", sse)
	}
	// Roles and their policies: what moto stored is what the template says.
	for fleet, out := range map[string]string{"producer": "ProducerTaskRoleArn", "consumer": "ConsumerTaskRoleArn"} {
		role := outputs[out][strings.LastIndex(outputs[out], "/")+1:]
		pol := get(c.run("iam", "get-role-policy", "--role-name", role, "--policy-name", fleet), "PolicyDocument")
		if doc, ok := pol.(string); ok { // moto returns the document URL-encoded
			if dec, err := url.QueryUnescape(doc); err == nil {
				doc = dec
			}
			var parsed any
			err := json.Unmarshal([]byte(doc), &parsed)
			if err != nil {
				// moto stores inline policies with an Fn::If → AWS::NoValue statement as a Python
				// repr, the removed statements as None (real CloudFormation drops them)
				doc = strings.NewReplacer("'", `"`, "True", "true", "False", "false", "None", "null").Replace(doc)
				err = json.Unmarshal([]byte(doc), &parsed)
			}
			if err != nil {
				t.Fatalf("%s policy: %v: %s", fleet, err, doc)
			}
			pol = parsed
		}
		stmts, _ := get(pol, "Statement").([]any)
		if len(stmts) == 0 {
			t.Errorf("%s policy: no statements: %v", fleet, pol)
		}
		var got []string
		for _, s := range stmts {
			if s == nil {
				continue
			}
			switch a := get(s, "Action").(type) {
			case string:
				got = append(got, a)
			case []any:
				for _, x := range a {
					got = append(got, x.(string))
				}
			}
			for _, r := range strs(get(s, "Resource")) {
				if r == "*" || strings.Contains(r, "${") || strings.Contains(r, "Ref(") {
					t.Errorf("%s policy: resource %q not resolved to an ARN", fleet, r)
				}
			}
		}
		for a := range codeActions(t)[fleet] {
			if !slices.Contains(got, a) {
				t.Errorf("%s role in moto lacks %s (has %v)", fleet, a, got)
			}
		}
		trust := fmt.Sprint(get(c.run("iam", "get-role", "--role-name", role), "Role", "AssumeRolePolicyDocument"))
		if !strings.Contains(trust, "ecs-tasks.amazonaws.com") {
			t.Errorf("%s role trust %s", fleet, trust)
		}
	}
	// Log groups with retention.
	lg := c.run("logs", "describe-log-groups", "--log-group-name-prefix", "/siemstream/"+stack+"/")
	var groups []string
	lgList, _ := get(lg, "logGroups").([]any)
	for _, g := range lgList {
		groups = append(groups, fmt.Sprint(get(g, "logGroupName")))
		if get(g, "retentionInDays") != 30.0 {
			t.Errorf("log group %v: retention %v", get(g, "logGroupName"), get(g, "retentionInDays"))
		}
	}
	if len(groups) != 2 {
		t.Errorf("log groups %v", groups)
	}
	// ECS: cluster, task definitions (image, command, environment, health check), services.
	cl := c.run("ecs", "describe-clusters", "--clusters", outputs["ClusterName"])
	if get(cl, "clusters", 0, "status") != "ACTIVE" {
		t.Errorf("cluster %v", cl)
	}
	svcs := c.run("ecs", "describe-services", "--cluster", outputs["ClusterName"], "--services", "producer", "consumer")
	taskDefs := map[string]string{}
	svcList, _ := get(svcs, "services").([]any)
	for _, s := range svcList {
		taskDefs[fmt.Sprint(get(s, "serviceName"))] = fmt.Sprint(get(s, "taskDefinition"))
		if get(s, "desiredCount") != 1.0 {
			t.Errorf("service %v desired %v", get(s, "serviceName"), get(s, "desiredCount"))
		}
	}
	want := map[string]map[string]string{
		"producer": {"SIEM_QUEUE_URL": outputs["QueueUrl"], "SIEM_STREAM": outputs["StreamName"], "AWS_REGION": "us-east-1", "SIEM_EMF": "true", "SIEM_METRICS_ADDR": ":9464"},
		"consumer": {"SIEM_STREAM": outputs["StreamName"], "SIEM_APP_NAME": app, "OPENSEARCH_URL": params["OpenSearchEndpoint"],
			"SIEM_OPENSEARCH_AUTH": "sigv4", "SIEM_OPENSEARCH_SIGV4_SERVICE": "es", "SIEM_GEOIP": "s3://" + stack + "-geo/", "SIEM_IOC": "s3://" + stack + "-geo/",
			"SIEM_EXCLUDE_CSV": params["ExcludeCsvS3Uri"], "SIEM_EXCLUDE_SSM_PREFIX": "/siem/exclude-logs/", "SIEM_EMF": "true", "SIEM_METRICS_ADDR": ":9464", "SIEM_INSTALL_TEMPLATES": "false"},
	}
	for fleet, env := range want {
		if taskDefs[fleet] == "" {
			t.Errorf("service %s missing (%v)", fleet, svcs)
			continue
		}
		tdd := c.run("ecs", "describe-task-definition", "--task-definition", taskDefs[fleet])
		cd := get(tdd, "taskDefinition", "containerDefinitions", 0)
		if get(cd, "image") != params["ImageUri"] || fmt.Sprint(get(cd, "command")) != "["+fleet+"]" || get(cd, "name") != fleet {
			t.Errorf("%s container: name %v image %v command %v", fleet, get(cd, "name"), get(cd, "image"), get(cd, "command"))
		}
		got := map[string]string{}
		envList, _ := get(cd, "environment").([]any)
		for _, e := range envList {
			if name, ok := get(e, "name").(string); ok { // moto keeps AWS::NoValue entries as null
				got[name] = fmt.Sprint(get(e, "value"))
			}
		}
		for k, v := range env {
			if got[k] != v {
				t.Errorf("%s env %s = %q, want %q", fleet, k, got[k], v)
			}
		}
		if hc := fmt.Sprint(get(cd, "healthCheck", "command")); hc != "[CMD /ko-app/siemstream healthcheck --url http://127.0.0.1:9464/healthz]" {
			t.Errorf("%s health check %s", fleet, hc)
		}
		if get(cd, "logConfiguration", "logDriver") != "awslogs" || get(cd, "logConfiguration", "options", "awslogs-group") != "/siemstream/"+stack+"/"+fleet {
			t.Errorf("%s logs %v", fleet, get(cd, "logConfiguration"))
		}
		// moto drops cpu, requiresCompatibilities, taskRoleArn and executionRoleArn, and runs the
		// services as EC2 without their network configuration: TestTaskDefinitions checks those.
		for _, k := range []string{"cpu", "requiresCompatibilities", "taskRoleArn", "executionRoleArn", "runtimePlatform"} {
			if get(tdd, "taskDefinition", k) == nil {
				t.Logf("moto dropped: %s task definition %s", fleet, k)
			}
		}
	}
	// EventBridge rule → queue, with the DLQ for undeliverable events.
	rule := outputs["ObjectCreatedRuleArn"]
	tg := c.run("events", "list-targets-by-rule", "--rule", rule[strings.LastIndex(rule, "/")+1:])
	if get(tg, "Targets", 0, "Arn") != outputs["QueueArn"] {
		t.Errorf("rule targets %v, want the queue", tg)
	}
	rd := c.run("events", "describe-rule", "--name", rule[strings.LastIndex(rule, "/")+1:])
	if p := fmt.Sprint(get(rd, "EventPattern")); !strings.Contains(p, stack+"-archive") || !strings.Contains(p, "Object Created") {
		t.Errorf("rule pattern %s", p)
	}
}
