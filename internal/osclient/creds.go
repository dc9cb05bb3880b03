package osclient

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/rs/zerolog"

	"github.com/siemstream/siemstream/internal/backoff"
)

// refreshBefore is how long before expiry credentials are renewed at most;
// short-lived credentials are renewed when a quarter of their life is left.
const refreshBefore = 5 * time.Minute

// creds hands out AWS credentials for signing and renews them before they
// expire. The SDK's cache renews only at expiry, so a request signed just
// before would reach the cluster with expired credentials; renewing early
// gives in-flight requests the rest of the old credentials' life.
//
// A failed renewal while the current credentials are still valid is logged
// and retried with backoff on later requests; once they have expired, each
// request fails with the error (the sink retries it like a 5xx, nothing is
// dropped) until a renewal succeeds.
type creds struct {
	src     aws.CredentialsProvider
	log     zerolog.Logger
	now     func() time.Time
	refresh sync.Mutex // one renewal at a time

	mu       sync.Mutex
	cur      aws.Credentials
	have     bool
	fetched  time.Time // when cur was fetched
	retryAt  time.Time // no renewal attempt before this after a failure
	failures int
	recent   []string // secret keys and tokens of the last few credentials
}

func newCreds(src aws.CredentialsProvider, log zerolog.Logger) *creds {
	return &creds{src: src, log: log, now: time.Now}
}

// Retrieve implements aws.CredentialsProvider.
func (c *creds) Retrieve(ctx context.Context) (aws.Credentials, error) {
	c.mu.Lock()
	cur, have, due, valid := c.state()
	c.mu.Unlock()
	if have && !due {
		return cur, nil
	}
	if have && valid && !c.refresh.TryLock() {
		return cur, nil // another request is renewing them
	}
	if !(have && valid) {
		c.refresh.Lock()
	}
	defer c.refresh.Unlock()
	c.mu.Lock()
	cur, have, due, valid = c.state()
	if have && !due {
		c.mu.Unlock()
		return cur, nil
	}
	if have && valid && c.now().Before(c.retryAt) {
		c.mu.Unlock()
		return cur, nil // last renewal failed: try again later
	}
	c.mu.Unlock()

	if inv, ok := c.src.(interface{ Invalidate() }); ok {
		inv.Invalidate() // an SDK cache would hand back the same ones
	}
	fresh, err := c.src.Retrieve(ctx)
	if err == nil && fresh.CanExpire && !fresh.Expires.After(c.now()) {
		err = fmt.Errorf("credentials from %s expired at %s", fresh.Source, fresh.Expires.UTC().Format(time.RFC3339))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		c.failures++
		wait := backoff.Exp(c.failures-1, time.Second, time.Minute)
		c.retryAt = c.now().Add(wait)
		ev := c.log.Warn().Err(err).Int("failures", c.failures)
		if have && valid {
			ev.Str("current_expire_in", c.cur.Expires.Sub(c.now()).Round(time.Second).String()).Msg("AWS credentials: renewal failed; signing with the current ones, retrying")
			return c.cur, nil
		}
		ev.Msg("AWS credentials: cannot get credentials; OpenSearch requests fail and are retried until they can be signed")
		return aws.Credentials{}, fmt.Errorf("AWS credentials for signing: %w", err)
	}
	if c.failures > 0 {
		c.log.Info().Int("failures", c.failures).Msg("AWS credentials renewed after failures")
	}
	c.cur, c.have, c.fetched, c.failures, c.retryAt = fresh, true, c.now(), 0, time.Time{}
	// Requests signed with the previous credentials may still be in
	// flight: keep their secrets for scrubbing a while.
	c.recent = append(c.recent, fresh.SecretAccessKey, fresh.SessionToken)
	if len(c.recent) > 8 {
		c.recent = c.recent[len(c.recent)-8:]
	}
	return fresh, nil
}

// state reports the current credentials, whether they are due for renewal
// and whether they are still valid. Callers hold c.mu.
func (c *creds) state() (cur aws.Credentials, have, due, valid bool) {
	if !c.have {
		return aws.Credentials{}, false, true, false
	}
	if !c.cur.CanExpire {
		return c.cur, true, false, true
	}
	now := c.now()
	left := c.cur.Expires.Sub(now)
	early := min(refreshBefore, c.cur.Expires.Sub(c.fetched)/4)
	return c.cur, true, left <= early, left > 0
}

// secrets returns the secret keys and session tokens of the current and
// the last few credentials (for scrubbing).
func (c *creds) secrets() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.recent...)
}
