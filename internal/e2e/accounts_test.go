package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/parquet-go/parquet-go"
)

// motoIAM is the second moto_server of infra/local/moto-iam.sh: S3, STS and
// IAM with IAM policies enforced once `enforce` was called.
type motoIAM struct {
	url  string
	root string
}

// startMotoIAM starts the IAM-enforcing moto for this test and stops it at
// the end. It never touches the shared moto on :4566.
func startMotoIAM(t *testing.T, root string) *motoIAM {
	t.Helper()
	m := &motoIAM{root: root}
	out, err := exec.Command("bash", filepath.Join(root, "infra/local/moto-iam.sh"), "start").CombinedOutput()
	if err != nil {
		t.Fatalf("moto-iam start: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("bash", filepath.Join(root, "infra/local/moto-iam.sh"), "stop").CombinedOutput(); err != nil {
			t.Errorf("moto-iam stop: %v\n%s", err, out)
		}
	})
	ep, err := exec.Command("bash", filepath.Join(root, "infra/local/moto-iam.sh"), "endpoint").Output()
	if err != nil {
		t.Fatal(err)
	}
	m.url = strings.TrimSpace(string(ep))
	return m
}

func (m *motoIAM) enforce(t *testing.T) {
	t.Helper()
	if out, err := exec.Command("bash", filepath.Join(m.root, "infra/local/moto-iam.sh"), "enforce").CombinedOutput(); err != nil {
		t.Fatalf("moto-iam enforce: %v\n%s", err, out)
	}
}

// iam calls the IAM query API (signed, as any SDK call; the repo has no
// IAM SDK module and needs none for four calls).
func (m *motoIAM) iam(t *testing.T, ctx context.Context, action string, kv ...string) string {
	t.Helper()
	form := url.Values{"Action": {action}, "Version": {"2010-05-08"}}
	for i := 0; i+1 < len(kv); i += 2 {
		form.Set(kv[i], kv[i+1])
	}
	body := form.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.url+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	sum := sha256.Sum256([]byte(body))
	if err := v4.NewSigner().SignHTTP(ctx, aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}, req,
		hex.EncodeToString(sum[:]), "iam", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("iam %s: %v", action, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("iam %s: HTTP %d: %s", action, resp.StatusCode, out)
	}
	return string(out)
}

var (
	reAccessKey = regexp.MustCompile(`<AccessKeyId>([^<]+)</AccessKeyId>`)
	reSecret    = regexp.MustCompile(`<SecretAccessKey>([^<]+)</SecretAccessKey>`)
)

// user makes an IAM user with an inline policy (none when policy is nil)
// and returns its access key.
func (m *motoIAM) user(t *testing.T, ctx context.Context, name string, policy any) (id, secret string) {
	t.Helper()
	m.iam(t, ctx, "CreateUser", "UserName", name)
	if policy != nil {
		doc, _ := json.Marshal(policy)
		m.iam(t, ctx, "PutUserPolicy", "UserName", name, "PolicyName", name+"-policy", "PolicyDocument", string(doc))
	}
	out := m.iam(t, ctx, "CreateAccessKey", "UserName", name)
	a, s := reAccessKey.FindStringSubmatch(out), reSecret.FindStringSubmatch(out)
	if a == nil || s == nil {
		t.Fatalf("CreateAccessKey: %s", out)
	}
	return a[1], s[1]
}

// role makes a role that principal (an IAM user ARN) may assume, with
// sts:ExternalId externalID when not "", and an inline permissions policy.
// moto checks the trust policy (principal and sts:ExternalId) on AssumeRole.
func (m *motoIAM) role(t *testing.T, ctx context.Context, name, principal, externalID string, policy any) string {
	t.Helper()
	st := map[string]any{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": map[string]any{"AWS": principal}}
	if externalID != "" {
		st["Condition"] = map[string]any{"StringEquals": map[string]any{"sts:ExternalId": externalID}}
	}
	trust, _ := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": []any{st}})
	m.iam(t, ctx, "CreateRole", "RoleName", name, "AssumeRolePolicyDocument", string(trust))
	if policy != nil {
		doc, _ := json.Marshal(policy)
		m.iam(t, ctx, "PutRolePolicy", "RoleName", name, "PolicyName", name+"-policy", "PolicyDocument", string(doc))
	}
	return "arn:aws:iam::123456789012:role/" + name
}

func stmt(effect string, action any, resource any, principal any) map[string]any {
	s := map[string]any{"Effect": effect, "Action": action}
	if resource != "" {
		s["Resource"] = resource
	}
	if principal != nil {
		s["Principal"] = principal
	}
	return map[string]any{"Version": "2012-10-17", "Statement": []any{s}}
}

func (m *motoIAM) s3(id, secret string) *s3.Client {
	return s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(m.url), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(id, secret, "")})
}

// ocsfRow is the part of an OCSF record the securitylake type needs.
type ocsfRow struct {
	Time         int64  `parquet:"time"`
	CategoryUID  int32  `parquet:"category_uid"`
	CategoryName string `parquet:"category_name"`
	ClassUID     int32  `parquet:"class_uid"`
	ClassName    string `parquet:"class_name"`
	SrcEndpoint  struct {
		IP string `parquet:"ip"`
	} `parquet:"src_endpoint"`
}

func ocsfParquet(t *testing.T, n int, t0 time.Time) []byte {
	t.Helper()
	var b bytes.Buffer
	w := parquet.NewGenericWriter[ocsfRow](&b)
	rows := make([]ocsfRow, n)
	for i := range rows {
		rows[i] = ocsfRow{Time: t0.Add(time.Duration(i) * time.Second).UnixMilli(), CategoryUID: 4, CategoryName: "Network Activity",
			ClassUID: 4001, ClassName: "Network Activity"}
		rows[i].SrcEndpoint.IP = fmt.Sprintf("10.0.%d.%d", i/250, i%250+1)
	}
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func s3Notification(bucket, key string) string {
	b, _ := json.Marshal(map[string]any{"Records": []any{map[string]any{
		"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
		"s3": map[string]any{"bucket": map[string]any{"name": bucket}, "object": map[string]any{"key": url.QueryEscape(key)}},
	}}})
	return string(b)
}

// securityLakeNotification is what a Security Lake subscriber queue gets.
func securityLakeNotification(bucket, key string, size int) string {
	b, _ := json.Marshal(map[string]any{
		"version": "0", "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718", "detail-type": "Object Created", "source": "aws.s3",
		"account": "123456789012", "time": time.Now().UTC().Format(time.RFC3339), "region": "us-east-1",
		"resources": []string{"arn:aws:s3:::" + bucket},
		"detail": map[string]any{"version": "0", "bucket": map[string]any{"name": bucket},
			"object":     map[string]any{"key": key, "size": size, "etag": "d41d8cd98f00b204e9800998ecf8427e"},
			"request-id": "N4N7GDK58NMKJ12R", "requester": "securitylake.amazonaws.com", "reason": "PutObject"},
	})
	return string(b)
}

// TestAccountsAssumedRoles reads buckets of "other accounts" through
// assumed roles on a moto that enforces IAM: the producer's own user may
// read no bucket, only assume roles.
//   - A log-archive bucket (a --sources pattern entry, 4-second sessions)
//     loads exactly, and its role is assumed again after the first session
//     expired (refresh, counted from the "assumed role" log lines).
//   - A Security Lake bucket (es-loader's SECURITY_LAKE_* variables, with the
//     external ID the role's trust policy requires) announced by a Security
//     Lake subscriber notification loads its OCSF Parquet rows exactly.
//   - An object of a bucket whose role's trust policy refuses us fails with
//     bucket and role named and reaches the DLQ; everything else goes on.
//     Mapped to a role that may read it (es-loader's CONTROL_TOWER_*
//     variables), `siemstream redrive` loads it from the DLQ.
//   - `siemstream backfill` lists and loads through the role; the refused
//     bucket's listing is refused, named; a user without sts:AssumeRole
//     permission gets the refusal naming bucket and role in the error log.
func TestAccountsAssumedRoles(t *testing.T) {
	ctx, s, bin := startTest(t, 6*time.Minute)
	root, _ := RepoRoot() // startTest found it
	m := startMotoIAM(t, root)

	u := strings.ToLower(NewName("xa"))
	archive, bfArchive, refused := u+"-a-archive", u+"-b-archive", u+"-refused"
	lake := "aws-security-data-lake-us-east-1-" + u
	// The producer's user may call sts:AssumeRole on three roles and read
	// nothing itself. Each role trusts it (moto checks the trust policy's
	// principal and sts:ExternalId), except "noassume", whose trust policy
	// names another principal: the refusal a role in an account that does
	// not list us gives.
	acct := "arn:aws:iam::123456789012:"
	prodUser := u + "-producer"
	reader, lakeRole, noAssume := acct+"role/"+u+"-reader", acct+"role/"+u+"-lake", acct+"role/"+u+"-noassume"
	prodID, prodSecret := m.user(t, ctx, prodUser, stmt("Allow", "sts:AssumeRole", []string{reader, lakeRole, noAssume}, nil))
	noSTSID, noSTSSecret := m.user(t, ctx, u+"-nosts", stmt("Allow", "s3:ListAllMyBuckets", "*", nil))
	read := func(buckets ...string) any {
		var res []string
		for _, b := range buckets {
			res = append(res, "arn:aws:s3:::"+b, "arn:aws:s3:::"+b+"/*")
		}
		return stmt("Allow", []string{"s3:GetObject", "s3:ListBucket"}, res, nil)
	}
	// The reader may read the refused bucket too: once the operator maps
	// that bucket to it, `redrive` loads the object from the DLQ.
	m.role(t, ctx, u+"-reader", acct+"user/"+prodUser, "", read(u+"-*-archive", refused))
	m.role(t, ctx, u+"-lake", acct+"user/"+prodUser, "ext-4f1c9a", read(lake))
	m.role(t, ctx, u+"-noassume", acct+"user/"+u+"-someone-else", "", read(refused))

	admin := m.s3("test", "test") // before enforce: no checks
	dir := t.TempDir()
	t0 := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	var first, second, bf []object
	for i := range 3 {
		first = append(first, genObject(t, dir, "cloudtrail", 40+i, uint64(300+i), t0))
		second = append(second, genObject(t, dir, "vpcflowlogs", 60+i, uint64(310+i), t0))
		bf = append(bf, genObject(t, dir, "cloudtrail", 30+i, uint64(320+i), t0.Add(time.Hour)))
	}
	refusedObj := genObject(t, dir, "cloudtrail", 5, 330, t0)
	// A real Security Lake key has "region=…/accountId=…/eventDay=…"
	// folders; moto's signature check recomputes the path of a key with
	// '=' differently from the SDK (SignatureDoesNotMatch), so the test key
	// keeps the type's file name without them.
	lakeKey := "aws/VPC_FLOW/2.0/us-east-1/123456789012/20261207/0a1b2c3d4e5f60718293a4b5c6d7e8f9.gz.parquet"
	const lakeRows = 25
	lakeBody := ocsfParquet(t, lakeRows, t0)
	put := func(bucket string, objs ...object) {
		for _, o := range objs {
			if _, err := admin.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: &o.key, Body: bytes.NewReader(o.body)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, b := range []string{archive, bfArchive, refused, lake} {
		if _, err := admin.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
	}
	put(archive, append(append([]object{}, first...), second...)...)
	put(bfArchive, bf...)
	put(refused, refusedObj)
	put(lake, object{key: lakeKey, body: lakeBody})
	var wantArchive, wantBF int64
	for _, o := range append(append([]object{}, first...), second...) {
		wantArchive += int64(len(normalizeExpected(t, bin, archive, o)))
	}
	for _, o := range bf {
		wantBF += int64(len(normalizeExpected(t, bin, bfArchive, o)))
	}

	m.enforce(t)
	// Access is really refused without the role.
	if _, err := m.s3(prodID, prodSecret).GetObject(ctx, &s3.GetObjectInput{Bucket: &archive, Key: &first[0].key}); err == nil || !strings.Contains(err.Error(), "AccessDenied") {
		t.Fatalf("the producer's own user read the log archive (err %v): IAM is not enforced", err)
	}

	// Shared stack: stream, and a queue whose DLQ takes a message after 2 receives.
	r, err := s.CreateResources(ctx, u, 1)
	if err != nil {
		t.Fatal(err)
	}
	dlq, err := s.SQS.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(u + "-xa-dlq")})
	if err != nil {
		t.Fatal(err)
	}
	dlqARN := "arn:aws:sqs:us-east-1:123456789012:" + u + "-xa-dlq"
	redrive, _ := json.Marshal(map[string]string{"deadLetterTargetArn": dlqARN, "maxReceiveCount": "2"})
	q, err := s.SQS.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(u + "-xa"), Attributes: map[string]string{
		"VisibilityTimeout": "10", "RedrivePolicy": string(redrive)}})
	if err != nil {
		t.Fatal(err)
	}
	send := func(body string) {
		if _, err := s.SQS.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: &body}); err != nil {
			t.Fatal(err)
		}
	}

	sources, _ := json.Marshal(map[string]any{"sources": []any{
		map[string]any{"bucket": u + "-*-archive", "role_arn": reader, "session_name": "siem-log-archive", "duration_seconds": 4},
		map[string]any{"bucket": refused, "role_arn": noAssume},
	}})
	crossEnv := func(id, secret string) []string {
		return append(r.Env(), "AWS_ENDPOINT_URL_S3="+m.url, "AWS_ENDPOINT_URL_STS="+m.url,
			"AWS_ACCESS_KEY_ID="+id, "AWS_SECRET_ACCESS_KEY="+secret, "AWS_SESSION_TOKEN=", "AWS_PROFILE=",
			"SIEM_SOURCES="+string(sources),
			// es-loader's variables: the Security Lake bucket through its
			// subscriber role, with the external ID its trust policy requires.
			"SECURITY_LAKE_ROLE_ARN="+lakeRole, "SECURITY_LAKE_ROLE_SESSION_NAME=siem-security-lake", "SECURITY_LAKE_EXTERNAL_ID=ext-4f1c9a")
	}
	logDir := t.TempDir()
	prodEnv := append(crossEnv(prodID, prodSecret), "SIEM_QUEUE_URL="+aws.ToString(q.QueueUrl), "SIEM_VISIBILITY_TIMEOUT=10s")
	prod := startFor(t, bin, "producer", logDir, prodEnv)
	startFor(t, bin, "consumer", logDir, append(r.Env(), "SIEM_SHARD_SYNC_MS=500", "SIEM_IDLE_TIME_MS=200"))

	for _, o := range first {
		send(s3Notification(archive, o.key))
	}
	send(s3Notification(refused, refusedObj.key))
	send(securityLakeNotification(lake, lakeKey, len(lakeBody)))
	var firstWant int64
	for _, o := range first {
		firstWant += int64(len(normalizeExpected(t, bin, archive, o)))
	}
	waitDocs(t, ctx, s, archive, firstWant)

	// Wait until the first session has expired (its expiry is in the
	// producer's "assumed role" log line), then load more: the role must
	// have been assumed again.
	expiry := func(p *Proc) (n int64, last time.Time) {
		for _, line := range strings.Split(p.Output(), "\n") {
			var l struct {
				Msg     string    `json:"message"`
				Role    string    `json:"role"`
				Count   int64     `json:"assume_count"`
				Expires time.Time `json:"expires"`
			}
			if json.Unmarshal([]byte(line), &l) == nil && l.Msg == "assumed role" && l.Role == reader && l.Count >= n {
				n, last = l.Count, l.Expires
			}
		}
		return n, last
	}
	n0, exp0 := expiry(prod)
	if n0 == 0 {
		t.Fatalf("no 'assumed role' log line for %s", reader)
	}
	if err := WaitFor(ctx, 30*time.Second, func() (bool, error) { return time.Now().After(exp0), nil }); err != nil {
		t.Fatal(err)
	}
	for _, o := range second {
		send(s3Notification(archive, o.key))
	}
	waitDocs(t, ctx, s, archive, wantArchive)
	if n1, _ := expiry(prod); n1 < n0+1 {
		t.Errorf("role %s assumed %d times after its session expired, want a refresh (> %d)", reader, n1, n0)
	} else {
		t.Logf("role %s assumed %d times (4 s sessions, refreshed 1 s before expiry)", reader, n1)
	}

	// Security Lake: OCSF parquet rows in their OCSF index.
	var lakeDocs int64
	if err := WaitFor(ctx, 2*time.Minute, func() (bool, error) {
		n, err := s.Count(ctx, "log-ocsf-*", BucketQuery(lake))
		lakeDocs = n
		return err == nil && n == lakeRows, nil
	}); err != nil {
		t.Errorf("security lake documents: %d of %d: %v", lakeDocs, lakeRows, err)
	}

	// The refused bucket's message went to the DLQ; its error named the
	// bucket and the role; nothing else was held up.
	if err := WaitFor(ctx, 2*time.Minute, func() (bool, error) {
		v, _, err := s.QueueDepth(ctx, aws.ToString(dlq.QueueUrl))
		return err == nil && v == 1, err
	}); err != nil {
		t.Errorf("refused object's message not in the DLQ: %v", err)
	}
	out := prod.Output()
	if !strings.Contains(out, "bucket "+refused+": assume role "+noAssume) || !strings.Contains(out, "StatusCode: 403") {
		t.Errorf("producer log does not name the refused bucket and role:\n%s", tail(out, 3000))
	}
	if n, err := s.Count(ctx, "log-aws-*", BucketQuery(refused)); err != nil || n != 0 {
		t.Errorf("refused bucket documents = %d (%v), want 0 before the redrive", n, err)
	}
	if v, inflight, err := s.QueueDepth(ctx, aws.ToString(q.QueueUrl)); err != nil || v+inflight != 0 {
		t.Errorf("queue still holds %d+%d messages (%v)", v, inflight, err)
	}

	// The operator maps the refused bucket to a role that may read it —
	// with es-loader's CONTROL_TOWER_* variables this time — and redrives
	// the DLQ: the object loads.
	wantRefused := int64(len(normalizeExpected(t, bin, refused, refusedObj)))
	ctEnv := append(crossEnv(prodID, prodSecret), "SIEM_SOURCES=", "CONTROL_TOWER_LOG_BUCKETS=other-bucket,"+refused,
		"CONTROL_TOWER_ROLE_ARN="+reader, "CONTROL_TOWER_ROLE_SESSION_NAME=siem-control-tower")
	rdSum, rdOut, code := runToEnd(t, ctx, bin, "redrive-xa", logDir, ctEnv, "redrive", "--queue", aws.ToString(dlq.QueueUrl), "--log-dir", t.TempDir())
	if code != 0 || summaryInt(rdSum, "deleted", "failed", "objects")[0] != 1 || summaryInt(rdSum, "failed")[0] != 0 ||
		!strings.Contains(rdOut, `"session":"siem-control-tower"`) {
		t.Errorf("redrive through CONTROL_TOWER_*: exit %d, summary %v\n%s", code, rdSum, tail(rdOut, 3000))
	}
	waitDocs(t, ctx, s, refused, wantRefused)

	// backfill with the same settings: a listing through the role.
	jdir := t.TempDir()
	sum, bfOut, code := runToEnd(t, ctx, bin, "backfill-xa", logDir, crossEnv(prodID, prodSecret),
		// No --prefix: moto's signature check disagrees with the SDK on an
		// encoded '/' in the query string.
		"backfill", "--bucket", bfArchive, "--prefix", "", "--log-dir", jdir)
	if code != 0 || summaryInt(sum, "loaded", "failed")[0] != int64(len(bf)) {
		t.Errorf("backfill: exit %d, summary %v\n%s", code, sum, tail(bfOut, 3000))
	}
	waitDocs(t, ctx, s, bfArchive, wantBF)
	if !strings.Contains(bfOut, `"assumed role"`) || !strings.Contains(bfOut, reader) {
		t.Errorf("backfill did not assume %s:\n%s", reader, tail(bfOut, 2000))
	}
	// backfill of the refused bucket: the listing is refused, named.
	_, bfOut2, code := runToEnd(t, ctx, bin, "backfill-xa-refused", logDir, crossEnv(prodID, prodSecret),
		"backfill", "--bucket", refused, "--prefix", "", "--log-dir", jdir)
	if code == 0 || !strings.Contains(bfOut2, "bucket "+refused+": assume role "+noAssume) {
		t.Errorf("backfill of the refused bucket: exit %d\n%s", code, tail(bfOut2, 2000))
	}
	// A user without sts:AssumeRole: AssumeRole itself is refused, the
	// error names bucket and role, the object is in the error log.
	listFile := filepath.Join(dir, "one.txt")
	if err := os.WriteFile(listFile, []byte("s3://"+archive+"/"+first[0].key+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sum3, bfOut3, code := runToEnd(t, ctx, bin, "backfill-xa-nosts", logDir, crossEnv(noSTSID, noSTSSecret),
		"backfill", "--list", listFile, "--log-dir", jdir)
	if code == 0 || summaryInt(sum3, "failed")[0] != 1 || !strings.Contains(bfOut3, "bucket "+archive+": assume role "+reader) {
		t.Errorf("backfill without sts:AssumeRole: exit %d, summary %v\n%s", code, sum3, tail(bfOut3, 3000))
	}
	errs := readLog(t, filepath.Join(jdir, "one.txt.error.log"))
	if len(errs) != 1 || !strings.Contains(errs[0][3], "assume role "+reader) {
		t.Errorf("error log = %q", errs)
	}
}
