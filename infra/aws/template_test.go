package aws

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

const templateFile = "siemstream.yaml"

// loadTemplate reads the template into plain maps and lists, with the
// CloudFormation short tags turned into their long forms (!Ref x → {"Ref": x},
// !GetAtt a.b → {"Fn::GetAtt": [a, b]}, !Sub → {"Fn::Sub": ...}, ...).
func loadTemplate(t testing.TB) map[string]any {
	t.Helper()
	b, err := os.ReadFile(templateFile)
	if err != nil {
		t.Fatal(err)
	}
	var n yaml.Node
	if err := yaml.Unmarshal(b, &n); err != nil {
		t.Fatalf("%s: %v", templateFile, err)
	}
	v, err := fromNode(&n)
	if err != nil {
		t.Fatalf("%s: %v", templateFile, err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("%s: not a mapping", templateFile)
	}
	return m
}

func fromNode(n *yaml.Node) (any, error) {
	var v any
	switch n.Kind {
	case yaml.DocumentNode:
		return fromNode(n.Content[0])
	case yaml.AliasNode:
		return fromNode(n.Alias)
	case yaml.MappingNode:
		m := map[string]any{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			val, err := fromNode(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			m[n.Content[i].Value] = val
		}
		v = m
	case yaml.SequenceNode:
		l := []any{}
		for _, c := range n.Content {
			val, err := fromNode(c)
			if err != nil {
				return nil, err
			}
			l = append(l, val)
		}
		v = l
	case yaml.ScalarNode:
		v = n.Value
		if n.Tag == "!!int" || n.Tag == "!!float" || n.Tag == "!!bool" {
			var x any
			if err := n.Decode(&x); err != nil {
				return nil, err
			}
			v = x
		}
	}
	if !strings.HasPrefix(n.Tag, "!") || strings.HasPrefix(n.Tag, "!!") {
		return v, nil
	}
	fn := strings.TrimPrefix(n.Tag, "!")
	switch fn {
	case "Ref", "Condition":
		return map[string]any{fn: v}, nil
	case "GetAtt":
		if s, ok := v.(string); ok {
			res, attr, _ := strings.Cut(s, ".")
			return map[string]any{"Fn::GetAtt": []any{res, attr}}, nil
		}
	}
	return map[string]any{"Fn::" + fn: v}, nil
}

// statement is one IAM policy statement of a role, with the resources as
// written (intrinsics rendered as text, e.g. "GetAtt(Stream.Arn)").
type statement struct {
	sid       string
	actions   []string
	resources []string
	cond      bool // inside an Fn::If branch
}

// render writes an intrinsic as short text for messages and matching.
func render(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case map[string]any:
		if len(x) != 1 {
			ks := make([]string, 0, len(x))
			for k := range x {
				ks = append(ks, k)
			}
			sort.Strings(ks)
			var parts []string
			for _, k := range ks {
				parts = append(parts, k+":"+render(x[k]))
			}
			return "{" + strings.Join(parts, ",") + "}"
		}
		for k, a := range x {
			switch k {
			case "Ref":
				return "Ref(" + render(a) + ")"
			case "Fn::GetAtt":
				l := a.([]any)
				return "GetAtt(" + render(l[0]) + "." + render(l[1]) + ")"
			case "Fn::Sub":
				if l, ok := a.([]any); ok {
					return "Sub(" + render(l[0]) + ")"
				}
				return "Sub(" + render(a) + ")"
			}
			if k == "Condition" || strings.HasPrefix(k, "Fn::") {
				return k + "(" + render(a) + ")"
			}
			return "{" + k + ":" + render(a) + "}"
		}
	case []any:
		var parts []string
		for _, e := range x {
			parts = append(parts, render(e))
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	return fmt.Sprint(v)
}

func strs(v any) []string {
	switch x := v.(type) {
	case nil:
		return nil
	case []any:
		var out []string
		for _, e := range x {
			out = append(out, render(e))
		}
		return out
	default:
		return []string{render(x)}
	}
}

// statements returns every statement of the role's inline policies; both
// branches of an Fn::If count (the strictest reading for least privilege).
func statements(t *testing.T, tpl map[string]any, role string) []statement {
	t.Helper()
	r := resource(t, tpl, role)
	props := r["Properties"].(map[string]any)
	if _, ok := props["ManagedPolicyArns"]; ok {
		t.Errorf("%s: managed policies are not least privilege; use inline statements", role)
	}
	var out []statement
	var add func(v any, cond bool)
	add = func(v any, cond bool) {
		m, ok := v.(map[string]any)
		if !ok {
			return
		}
		if f, ok := m["Fn::If"]; ok {
			l := f.([]any)
			add(l[1], true)
			add(l[2], true)
			return
		}
		if _, ok := m["Ref"]; ok { // AWS::NoValue
			return
		}
		if m["Effect"] != "Allow" {
			t.Errorf("%s: statement %v: only Allow statements are expected", role, m["Sid"])
		}
		if _, ok := m["NotAction"]; ok {
			t.Errorf("%s: NotAction grants everything else", role)
		}
		if _, ok := m["NotResource"]; ok {
			t.Errorf("%s: NotResource grants everything else", role)
		}
		out = append(out, statement{sid: fmt.Sprint(m["Sid"]), actions: strs(m["Action"]), resources: strs(m["Resource"]), cond: cond})
	}
	for _, p := range props["Policies"].([]any) {
		doc := p.(map[string]any)["PolicyDocument"].(map[string]any)
		for _, s := range doc["Statement"].([]any) {
			add(s, false)
		}
	}
	return out
}

func resource(t *testing.T, tpl map[string]any, name string) map[string]any {
	t.Helper()
	r, ok := tpl["Resources"].(map[string]any)[name].(map[string]any)
	if !ok {
		t.Fatalf("resource %s missing", name)
	}
	return r
}

// roles of the fleets and of the ECS agent.
var roles = map[string]string{"producer": "ProducerTaskRole", "consumer": "ConsumerTaskRole", "execution": "ExecutionRole"}

// starResourceOK lists the actions that have no resource-level permissions,
// so AWS requires Resource "*" (and why).
var starResourceOK = map[string]string{
	"ecr:GetAuthorizationToken": "the registry login token is account-wide; AWS accepts only *",
}

// wildcardActionOK lists the only action patterns allowed (the issue's
// es:ESHttp*: every HTTP method on the one domain; what the role may do
// inside OpenSearch is set by its backend-role mapping).
var wildcardActionOK = map[string]bool{"es:ESHttp*": true}

func TestLeastPrivilege(t *testing.T) {
	tpl := loadTemplate(t)
	for fleet, role := range roles {
		for _, s := range statements(t, tpl, role) {
			for _, a := range s.actions {
				if strings.Contains(a, "*") && !wildcardActionOK[a] {
					t.Errorf("%s (%s) statement %s: wildcard action %q", fleet, role, s.sid, a)
				}
				if !regexp.MustCompile(`^[a-z0-9-]+:[A-Za-z0-9*]+$`).MatchString(a) {
					t.Errorf("%s statement %s: action %q is not service:Action", fleet, s.sid, a)
				}
			}
			if len(s.resources) == 0 {
				t.Errorf("%s statement %s: no Resource", fleet, s.sid)
			}
			for _, r := range s.resources {
				if r != "*" && !strings.HasSuffix(r, ":*") {
					continue
				}
				for _, a := range s.actions {
					if _, ok := starResourceOK[a]; !ok {
						t.Errorf("%s statement %s: Resource %q for %s, which supports resource-level permissions", fleet, s.sid, r, a)
					}
				}
			}
		}
	}
	// Task roles can be assumed only by ECS tasks of this account.
	for _, role := range roles {
		trust := render(resource(t, tpl, role)["Properties"].(map[string]any)["AssumeRolePolicyDocument"])
		if !strings.Contains(trust, "ecs-tasks.amazonaws.com") || !strings.Contains(trust, "aws:SourceAccount") {
			t.Errorf("%s: trust policy %s: want ecs-tasks.amazonaws.com with an aws:SourceAccount condition", role, trust)
		}
	}
	// Who may do what, beyond the action list: exact resources of the sensitive grants.
	want := []struct {
		fleet, action, resource string
		only                    bool // the action is granted on this resource and nothing else
	}{
		{"producer", "kinesis:PutRecords", "GetAtt(Stream.Arn)", true},
		{"producer", "sqs:DeleteMessage", "GetAtt(Queue.Arn)", true},
		{"producer", "s3:PutObject", "/siemstream-deadletter/*", true},
		{"consumer", "kinesis:GetRecords", "GetAtt(Stream.Arn)", true},
		{"consumer", "dynamodb:UpdateItem", "GetAtt(LeaseTable.Arn)", false},
		{"consumer", "dynamodb:CreateTable", "table/${AppName}-replay-*", true},
		{"consumer", "dynamodb:DeleteTable", "table/${AppName}-replay-*", true},
		{"consumer", "es:ESHttp*", "Sub(${OpenSearchArn}/*)", true},
		{"consumer", "aoss:APIAccessAll", "Ref(OpenSearchArn)", true},
		{"consumer", "ssm:GetParametersByPath", "parameter${ExclusionSsmPath}", true},
		{"producer", "kms:Decrypt", "Ref(KmsKeyArns)", true},
		{"consumer", "kms:Decrypt", "Ref(", true},
		{"producer", "sts:AssumeRole", "Ref(AssumeRoleArns)", true},
		{"execution", "logs:PutLogEvents", "LogGroup.Arn", true},
		{"execution", "ecr:BatchGetImage", "Ref(ImageRepositoryArn)", true},
	}
	for _, w := range want {
		found := false
		for _, s := range statements(t, tpl, roles[w.fleet]) {
			if !slices.Contains(s.actions, w.action) {
				continue
			}
			for _, r := range s.resources {
				if strings.Contains(r, w.resource) {
					found = true
				} else if w.only {
					t.Errorf("%s: %s granted on %s; want only %s", w.fleet, w.action, r, w.resource)
				}
			}
		}
		if !found {
			t.Errorf("%s: %s not granted on %s", w.fleet, w.action, w.resource)
		}
	}
	// Each fleet has nothing of the other's data path.
	for fleet, forbidden := range map[string][]string{
		"producer": {"dynamodb:", "es:", "aoss:", "kinesis:GetRecords", "ssm:"},
		"consumer": {"kinesis:PutRecords", "sqs:", "s3:PutObject", "sts:AssumeRole"},
	} {
		for _, s := range statements(t, tpl, roles[fleet]) {
			for _, a := range s.actions {
				for _, f := range forbidden {
					if strings.HasPrefix(a, f) {
						t.Errorf("%s: %s is the other fleet's (statement %s)", fleet, a, s.sid)
					}
				}
			}
		}
	}
	// KMS only on the keys given.
	for fleet, role := range roles {
		for _, s := range statements(t, tpl, role) {
			for _, a := range s.actions {
				if strings.HasPrefix(a, "kms:") && !s.cond {
					t.Errorf("%s: %s granted unconditionally; only with a key parameter", fleet, a)
				}
			}
			if slices.ContainsFunc(s.actions, func(a string) bool { return strings.HasPrefix(a, "kms:") }) {
				for _, r := range s.resources {
					if r != "Ref(KmsKeyArns)" && r != "Ref(StreamKmsKeyArn)" {
						t.Errorf("%s: KMS on %s; want only the given keys", fleet, r)
					}
				}
			}
		}
	}
}

// The AWS calls in the code, per fleet. Every non-test Go file that calls an
// AWS API is listed here by path prefix (longest first); a new one fails the
// test until it is classified.
var callers = []struct{ prefix, fleet string }{
	{"producer/backfill/", "operator"},               // backfill, redrive: run by an operator (runbook)
	{"producer/", "producer"},                        // the SQS loop, GetObject, PutRecords, dead letters
	{"consumer/lease/kcl/", "unsupported"},           // --coordinator kcl: its library's own table schema, not deployed
	{"consumer/", "consumer"},                        // lease coordinator, shard readers
	{"stages/exclude/ssmparam/", "consumer"},         // SSM exclusion conditions
	{"internal/reload/s3src/", "consumer"},           // GeoIP / IoC / CSV from S3
	{"cmd/siemstream/replay.go", "consumer"},         // replay: a one-off task of the consumer's task definition
	{"cmd/siemstream/ready_producer.go", "producer"}, // /readyz: the queue and the stream answer
	{"cmd/siemstream/ready_consumer.go", "consumer"}, // /readyz: the lease table answers
	// The metrics middleware reads the typed input/output of calls others
	// make (PutRecords entries per shard); it calls nothing itself.
	{"internal/metrics/aws.go", "none"},
	// Cross-account sources: the producer (and backfill/redrive) assume the
	// configured roles; the S3 calls a Router forwards are its callers'.
	{"internal/s3access/forward.go", "none"},
	{"internal/s3access/", "producer"},
	// Dead-letter writers: the producer's part objects. The consumer calls PutRaw only with
	// --dead-letter-bucket, which the template does not set (its raw bytes stay inline in the
	// dead-letter index), so its role gets no PutObject.
	{"internal/deadletter/s3.go", "producer"},
	{"internal/deadletter/s3read.go", "operator"}, // `siemstream deadletters list|redrive`
	{"cmd/siemstream/deadletters.go", "operator"},
	{"internal/e2e/", "test"}, // the local stack's test driver
	{"bench/", "test"},
}

// iamAction maps an SDK operation to the IAM action that authorizes it.
func iamAction(svc, op string) string {
	switch svc + ":" + op {
	case "s3:HeadObject":
		return "s3:GetObject"
	case "s3:ListObjectsV2":
		return "s3:ListBucket"
	case "s3:PutBucketNotificationConfiguration":
		return "s3:PutBucketNotification"
	}
	return svc + ":" + op
}

// sdkCalls finds the AWS operations a Go file uses: the SDK's operation input
// types (s3.GetObjectInput), paginators (NewListObjectsV2Paginator) and STS
// role providers (stscreds.NewAssumeRoleProvider → sts:AssumeRole).
func sdkCalls(t *testing.T, path string) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	svc := map[string]string{} // import name → service
	for _, imp := range f.Imports {
		p, _ := strconv.Unquote(imp.Path.Value)
		name := filepath.Base(p)
		switch {
		case strings.HasPrefix(p, "github.com/aws/aws-sdk-go-v2/service/"):
			svc[name] = strings.TrimPrefix(p, "github.com/aws/aws-sdk-go-v2/service/")
		case p == "github.com/aws/aws-sdk-go-v2/credentials/stscreds":
			svc[name] = "stscreds"
		default:
			continue
		}
		if imp.Name != nil {
			svc[imp.Name.Name] = svc[name]
			delete(svc, name)
		}
	}
	if len(svc) == 0 {
		return nil
	}
	seen := map[string]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		sel, ok := n.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		x, ok := sel.X.(*ast.Ident)
		if !ok || svc[x.Name] == "" {
			return true
		}
		s, name := svc[x.Name], sel.Sel.Name
		switch {
		case s == "stscreds" && name == "NewAssumeRoleProvider":
			seen["sts:AssumeRole"] = true
		case strings.HasPrefix(name, "New") && strings.HasSuffix(name, "Paginator"):
			seen[iamAction(s, strings.TrimSuffix(strings.TrimPrefix(name, "New"), "Paginator"))] = true
		case strings.HasSuffix(name, "Input") && name != "Input":
			seen[iamAction(s, strings.TrimSuffix(name, "Input"))] = true
		}
		return true
	})
	var out []string
	for a := range seen {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}

// codeActions walks the module's Go code (tests excluded) and returns the
// actions per fleet, with the files that need each.
func codeActions(t *testing.T) map[string]map[string][]string {
	t.Helper()
	root := "../.."
	out := map[string]map[string][]string{}
	// The whole module: every directory but hidden ones, build output, test data and nested
	// modules (tools/image).
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if p != root && (strings.HasPrefix(name, ".") || name == "bin" || name == "testdata" || name == "node_modules") {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(p, "go.mod")); err == nil && p != root {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		acts := sdkCalls(t, p)
		if len(acts) == 0 {
			return nil
		}
		fleet := ""
		for _, c := range callers {
			if strings.HasPrefix(rel, c.prefix) {
				fleet = c.fleet
				break
			}
		}
		if fleet == "" {
			t.Errorf("%s calls %v: add it to callers in template_test.go (which fleet runs it?) and grant the actions", rel, acts)
			return nil
		}
		if out[fleet] == nil {
			out[fleet] = map[string][]string{}
		}
		for _, a := range acts {
			out[fleet][a] = append(out[fleet][a], rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// notGranted: actions the code can call that the deployment deliberately
// does not grant, and why.
var notGranted = map[string]string{
	// The coordinator calls DescribeTable and creates the table only when absent: the template
	// creates the live table, so the consumer needs CreateTable only on replay tables (checked in
	// TestLeastPrivilege).
}

func TestActionsCoverCode(t *testing.T) {
	tpl := loadTemplate(t)
	code := codeActions(t)
	if len(code["producer"]) == 0 || len(code["consumer"]) == 0 {
		t.Fatalf("found no AWS calls of the fleets (%v): the scanner is broken", code)
	}
	for _, fleet := range []string{"producer", "consumer"} {
		granted := map[string]bool{}
		for _, s := range statements(t, tpl, roles[fleet]) {
			for _, a := range s.actions {
				granted[a] = true
			}
		}
		var need []string
		for a, files := range code[fleet] {
			need = append(need, a)
			if granted[a] || notGranted[a] != "" {
				continue
			}
			t.Errorf("%s calls %s (%s) but the %s role does not grant it", fleet, a, strings.Join(files, ", "), fleet)
		}
		sort.Strings(need)
		t.Logf("%s: code calls %v", fleet, need)
		// And the converse: nothing granted that no code calls (besides OpenSearch and KMS,
		// which the SDK calls on the code's behalf, and the replay table's DeleteTable, which
		// operators use to drop a finished replay's leases: runbook).
		for a := range granted {
			if _, ok := code[fleet][a]; ok {
				continue
			}
			switch {
			case strings.HasPrefix(a, "es:"), strings.HasPrefix(a, "aoss:"), strings.HasPrefix(a, "kms:"),
				a == "dynamodb:DeleteTable", a == "sts:AssumeRole":
				continue
			}
			t.Errorf("%s role grants %s, which no %s code calls", fleet, a, fleet)
		}
	}
	t.Logf("operator commands (own credentials, runbook): %v", keys(code["operator"]))
}

func keys(m map[string][]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestTaskDefinitions(t *testing.T) {
	tpl := loadTemplate(t)
	var src strings.Builder
	files, _ := filepath.Glob("../../cmd/siemstream/*.go")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		src.Write(b)
	}
	for _, c := range []struct {
		res, container, command string
		env                     []string
	}{
		{"ProducerTaskDefinition", "producer", "producer", []string{"AWS_REGION", "SIEM_QUEUE_URL", "SIEM_STREAM", "SIEM_EMF", "SIEM_METRICS_ADDR", "SIEM_LOG_FORMAT"}},
		{"ConsumerTaskDefinition", "consumer", "consumer", []string{"AWS_REGION", "SIEM_STREAM", "SIEM_APP_NAME", "OPENSEARCH_URL",
			"SIEM_OPENSEARCH_AUTH", "SIEM_OPENSEARCH_SIGV4_SERVICE", "SIEM_GEOIP", "SIEM_IOC", "SIEM_EXCLUDE_CSV", "SIEM_EXCLUDE_SSM_PREFIX",
			"SIEM_EMF", "SIEM_METRICS_ADDR", "SIEM_INSTALL_TEMPLATES"}},
	} {
		props := resource(t, tpl, c.res)["Properties"].(map[string]any)
		// What moto drops (Fargate, cpu, task role) is checked here.
		if render(props["RequiresCompatibilities"]) != "[FARGATE]" || props["NetworkMode"] != "awsvpc" {
			t.Errorf("%s: want FARGATE with awsvpc", c.res)
		}
		for _, k := range []string{"Cpu", "Memory", "TaskRoleArn", "ExecutionRoleArn", "RuntimePlatform"} {
			if props[k] == nil {
				t.Errorf("%s: %s missing", c.res, k)
			}
		}
		cd := props["ContainerDefinitions"].([]any)[0].(map[string]any)
		if cd["Name"] != c.container || render(cd["Command"]) != "["+c.command+"]" || render(cd["Image"]) != "Ref(ImageUri)" {
			t.Errorf("%s: container %v command %v image %v", c.res, cd["Name"], cd["Command"], render(cd["Image"]))
		}
		hc := render(cd["HealthCheck"].(map[string]any)["Command"])
		if hc != "[CMD,/ko-app/siemstream,healthcheck,--url,http://127.0.0.1:9464/healthz]" {
			t.Errorf("%s: health check %s", c.res, hc)
		}
		if !strings.Contains(src.String(), `"healthcheck"`) {
			t.Errorf("cmd/siemstream has no healthcheck command")
		}
		var names []string
		for _, e := range cd["Environment"].([]any) {
			m := e.(map[string]any)
			if f, ok := m["Fn::If"]; ok {
				m = f.([]any)[1].(map[string]any)
			}
			names = append(names, m["Name"].(string))
		}
		for _, want := range c.env {
			if !slices.Contains(names, want) {
				t.Errorf("%s: environment lacks %s", c.res, want)
			}
		}
		for _, n := range names {
			if strings.HasPrefix(n, "AWS_") || strings.Contains(src.String(), `"`+n+`"`) {
				continue
			}
			t.Errorf("%s: %s is not a setting of cmd/siemstream", c.res, n)
		}
	}
	for _, svc := range []string{"ProducerService", "ConsumerService"} {
		p := resource(t, tpl, svc)["Properties"].(map[string]any)
		if p["LaunchType"] != "FARGATE" || p["NetworkConfiguration"] == nil {
			t.Errorf("%s: want Fargate with a network configuration", svc)
		}
		dc := p["DeploymentConfiguration"].(map[string]any)
		if fmt.Sprint(dc["MinimumHealthyPercent"]) != "100" {
			t.Errorf("%s: MinimumHealthyPercent %v: a rolling upgrade must start new tasks before stopping old ones", svc, dc["MinimumHealthyPercent"])
		}
	}
}

// The parts moto skips (queue policy, scaling, alarms) and the properties it
// drops (stream mode), checked on the template.
func TestSkippedByMoto(t *testing.T) {
	tpl := loadTemplate(t)
	res := tpl["Resources"].(map[string]any)
	qp := render(resource(t, tpl, "QueuePolicy"))
	for _, want := range []string{"events.amazonaws.com", "GetAtt(ObjectCreatedRule.Arn)", "s3.amazonaws.com", "Ref(LogBucketArns)", "aws:SourceAccount", "sns.amazonaws.com", "Ref(SnsTopicArns)"} {
		if !strings.Contains(qp, want) {
			t.Errorf("QueuePolicy lacks %s", want)
		}
	}
	prod := render(resource(t, tpl, "ProducerBacklogScaling"))
	for _, want := range []string{"ApproximateNumberOfMessagesVisible", "RunningTaskCount", "visible / tasks", "Ref(ProducerBacklogPerTask)"} {
		if !strings.Contains(prod, want) {
			t.Errorf("producer scaling lacks %s", want)
		}
	}
	cons := render(resource(t, tpl, "ConsumerScalableTarget"))
	if !strings.Contains(cons, "Fn::If([ConsumerCapIsShards,Ref(ShardCount),Ref(ConsumerMaxCount)])") {
		t.Errorf("consumer cap: %s", cons)
	}
	if !strings.Contains(render(resource(t, tpl, "ConsumerCpuScaling")), "ECSServiceAverageCPUUtilization") {
		t.Error("consumer CPU target tracking missing")
	}
	if !strings.Contains(render(resource(t, tpl, "LagAlarm")), "Ref(ConsumerLagScaling)") {
		t.Error("the lag alarm does not drive the consumer's step scaling")
	}
	alarms := map[string]bool{}
	for name, r := range res {
		if r.(map[string]any)["Type"] == "AWS::CloudWatch::Alarm" {
			s := render(r)
			for _, m := range []string{"GetRecords.IteratorAgeMilliseconds", "ApproximateAgeOfOldestMessage", "ApproximateNumberOfMessagesVisible",
				"ErrorLogLoadCount", "5xx", "ThreadpoolWriteRejected", "WriteProvisionedThroughputExceeded", "ReadProvisionedThroughputExceeded"} {
				if strings.Contains(s, m) {
					alarms[m] = true
				}
			}
			if !strings.Contains(s, "AlarmActions") {
				t.Errorf("%s: no alarm actions", name)
			}
		}
	}
	if len(alarms) != 8 {
		t.Errorf("alarms on %v; want lag, queue age, DLQ depth, dead letters, bulk 5xx, write rejections, Kinesis throttling", alarms)
	}
	stream := render(resource(t, tpl, "Stream"))
	for _, want := range []string{"StreamMode:Ref(StreamMode)", "EncryptionType:KMS"} {
		if !strings.Contains(stream, want) {
			t.Errorf("stream lacks %s: %s", want, stream)
		}
	}
	lt := render(resource(t, tpl, "LeaseTable"))
	for _, want := range []string{"PAY_PER_REQUEST", "PointInTimeRecoveryEnabled:true", "AttributeName:leaseKey", "TableName:Ref(AppName)"} {
		if !strings.Contains(lt, want) {
			t.Errorf("lease table lacks %s: %s", want, lt)
		}
	}
}
