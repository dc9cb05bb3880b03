package s3access

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/rs/zerolog"
)

// Router is an S3 client that routes every call to the client for the
// call's bucket: the base client, or the client of the bucket's role. It
// implements the S3 calls the producer (GetObject, PutObject), backfill
// (ListObjectsV2) and the dead-letter tools use.
type Router struct {
	cfg  Config
	base aws.Config
	opts []func(*s3.Options)
	def  *s3.Client
	sts  stscreds.AssumeRoleAPIClient
	log  zerolog.Logger

	mu    sync.Mutex
	roles map[roleKey]*Role
}

type roleKey struct {
	arn, externalID, session string
	duration                 time.Duration
}

// Role is one assumed role: its credentials cache and S3 client.
type Role struct {
	ARN, Session, Account string
	Duration              time.Duration
	creds                 *aws.CredentialsCache
	s3                    *s3.Client
	// Retrieves counts AssumeRole calls (the first and every refresh).
	Retrieves atomic.Int64

	// failErr is the last AssumeRole failure, returned without calling
	// STS again until failUntil: a refused role must not cost one STS
	// call per object of its buckets (STS throttles per account).
	failMu    sync.Mutex
	failErr   error
	failUntil time.Time
}

// retryRefusedAfter is how long an AssumeRole failure is remembered.
const retryRefusedAfter = 10 * time.Second

func (role *Role) retrieve(ctx context.Context) error {
	role.failMu.Lock()
	if role.failErr != nil && time.Now().Before(role.failUntil) {
		err := role.failErr
		role.failMu.Unlock()
		return err
	}
	role.failMu.Unlock()
	_, err := role.creds.Retrieve(ctx)
	if err != nil && ctx.Err() == nil {
		role.failMu.Lock()
		role.failErr, role.failUntil = err, time.Now().Add(retryRefusedAfter)
		role.failMu.Unlock()
	}
	return err
}

// New builds a router over base (the process's AWS config; its STS endpoint
// is used for AssumeRole). opts apply to every S3 client.
func New(cfg Config, base aws.Config, log zerolog.Logger, opts ...func(*s3.Options)) (*Router, error) {
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("sources: %w", err)
	}
	r := &Router{cfg: cfg, base: base, opts: opts, def: s3.NewFromConfig(base, opts...),
		sts: sts.NewFromConfig(base), log: log, roles: map[roleKey]*Role{}}
	for _, s := range cfg.Sources {
		ev := log.Info().Str("s3_bucket", s.Bucket).Str("origin", s.origin)
		switch {
		case s.refuse != "":
			ev.Str("refused", s.refuse).Msg("source: objects of these buckets will fail")
		case s.RoleARN != "":
			ev.Str("role", s.RoleARN).Str("account", s.Account()).Bool("external_id", s.ExternalID != "").
				Dur("session_duration", r.duration(s)).Msg("source: read through an assumed role")
			if r.duration(s) < 15*time.Minute {
				log.Warn().Str("s3_bucket", s.Bucket).Dur("session_duration", r.duration(s)).
					Msg("AWS STS refuses sessions shorter than 15 minutes (emulators accept them)")
			}
		default:
			ev.Msg("source: read with the process's own credentials")
		}
	}
	return r, nil
}

func (r *Router) duration(s Source) time.Duration {
	if s.DurationSeconds > 0 {
		return time.Duration(s.DurationSeconds) * time.Second
	}
	return r.cfg.Duration
}

// Config returns the validated sources.
func (r *Router) Config() Config { return r.cfg }

// Account is the account a bucket is read from when it is read through a
// role ("" otherwise).
func (r *Router) Account(bucket string) string {
	s, _ := r.cfg.Match(bucket)
	return s.Account()
}

// Role returns the role a bucket is read with (nil: the base credentials).
// It makes the role's client on first use; AssumeRole is called lazily, by
// the first S3 call.
func (r *Router) Role(bucket string) (*Role, error) {
	s, ok := r.cfg.Match(bucket)
	if !ok || (s.RoleARN == "" && s.refuse == "") {
		return nil, nil
	}
	if s.refuse != "" {
		return nil, fmt.Errorf("bucket %s: no credentials to read it: %s", bucket, s.refuse)
	}
	session := s.SessionName
	if session == "" {
		session = r.cfg.SessionName
	}
	k := roleKey{arn: s.RoleARN, externalID: s.ExternalID, session: session, duration: r.duration(s)}
	r.mu.Lock()
	defer r.mu.Unlock()
	if role := r.roles[k]; role != nil {
		return role, nil
	}
	role := &Role{ARN: k.arn, Session: k.session, Account: s.Account(), Duration: k.duration}
	inner := stscreds.NewAssumeRoleProvider(r.sts, k.arn, func(o *stscreds.AssumeRoleOptions) {
		o.RoleSessionName = k.session
		o.Duration = k.duration
		if k.externalID != "" {
			o.ExternalID = aws.String(k.externalID)
		}
	})
	// Refresh ahead of expiry: the configured window, but never more than
	// a quarter of the session, so short sessions are not refreshed on
	// every call.
	window := min(r.cfg.ExpiryWindow, k.duration/4)
	role.creds = aws.NewCredentialsCache(&countingProvider{inner: inner, role: role, log: r.log}, func(o *aws.CredentialsCacheOptions) {
		o.ExpiryWindow = window
	})
	cfg := r.base.Copy()
	cfg.Credentials = role.creds
	role.s3 = s3.NewFromConfig(cfg, r.opts...)
	r.roles[k] = role
	return role, nil
}

// Roles returns the roles made so far.
func (r *Router) Roles() []*Role {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*Role, 0, len(r.roles))
	for _, role := range r.roles {
		out = append(out, role)
	}
	return out
}

// client returns the S3 client for bucket. For a role, credentials are
// retrieved first (from the cache; AssumeRole when missing or about to
// expire) so a refused role fails with an error naming bucket and role
// rather than an anonymous signing error.
func (r *Router) client(ctx context.Context, bucket string) (*s3.Client, *Role, error) {
	role, err := r.Role(bucket)
	if err != nil {
		return nil, nil, err
	}
	if role == nil {
		return r.def, nil, nil
	}
	if err := role.retrieve(ctx); err != nil {
		return nil, role, fmt.Errorf("bucket %s: assume role %s (account %s, session %s): %w", bucket, role.ARN, role.Account, role.Session, err)
	}
	return role.s3, role, nil
}

func wrap(err error, bucket string, role *Role) error {
	if err == nil || role == nil {
		return err
	}
	return fmt.Errorf("bucket %s read as role %s (account %s): %w", bucket, role.ARN, role.Account, err)
}

// countingProvider counts and logs every AssumeRole, so refreshes are
// visible (logs, Role.Retrieves). Credentials are never logged.
type countingProvider struct {
	inner aws.CredentialsProvider
	role  *Role
	log   zerolog.Logger
}

func (p *countingProvider) Retrieve(ctx context.Context) (aws.Credentials, error) {
	c, err := p.inner.Retrieve(ctx)
	if err != nil {
		p.log.Error().Err(err).Str("role", p.role.ARN).Str("account", p.role.Account).Msg("assume role failed")
		return c, err
	}
	n := p.role.Retrieves.Add(1)
	p.log.Info().Str("role", p.role.ARN).Str("account", p.role.Account).Str("session", p.role.Session).
		Int64("assume_count", n).Time("expires", c.Expires).Msg("assumed role")
	return c, nil
}
