package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/opensearch-project/opensearch-go/v4"
	"github.com/rs/zerolog"
	"github.com/tidwall/gjson"

	"github.com/siemstream/siemstream/internal/backoff"
	"github.com/siemstream/siemstream/schemas"
	"github.com/siemstream/siemstream/schemas/templates"
)

// runTemplates is `siemstream templates install|show`.
func runTemplates(ctx context.Context, args []string) error {
	if len(args) == 0 || (args[0] != "install" && args[0] != "show") {
		fmt.Fprint(os.Stderr, `usage: siemstream templates install [--dry-run] [flags]
       siemstream templates show [flags]

install  puts the component templates, index templates, ISM rollover policy
         (when the cluster has the ISM plugin) and rollover write aliases for
         every log type (built-in and --user-ini) into OpenSearch; idempotent.
         --dry-run prints the request bodies as JSON instead.
show     compares the cluster with what install would put there, and lists
         other templates that override ours.

Run 'siemstream templates install -h' for the flags.
`)
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			return nil
		}
		return exitError(2)
	}
	sub := args[0]
	f := newFlags("templates "+sub, "[flags]")
	osf := openSearchFlags(f)
	userINI := f.str("user-ini", "SIEM_USER_INI", "", "es-loader user.ini: its log types get templates too")
	dlIndex := f.str("dead-letter-index", "SIEM_DEAD_LETTER_INDEX", "siemstream-deadletter", "dead-letter index prefix (as the consumer's)")
	tf := templateFlags(f, false)
	var dryRun *bool
	if sub == "install" {
		dryRun = f.boolean("dry-run", "", false, "print the request bodies as JSON; do not contact OpenSearch")
	}
	if err := f.Parse(args[1:]); err != nil {
		return err
	}
	opts := tf.Options(*dlIndex)
	if err := opts.Validate(); err != nil {
		return err
	}
	reg, err := schemas.Load(schemas.Options{UserINI: *userINI})
	if err != nil {
		return err
	}
	if dryRun != nil && *dryRun {
		set, err := templates.Build(reg, opts)
		if err != nil {
			return err
		}
		b, err := json.MarshalIndent(set, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Printf("%s\n", b)
		return err
	}
	log, err := newLogger(*f.logFormat, *f.logLevel)
	if err != nil {
		return err
	}
	osc, err := osf.Client(ctx, log)
	if err != nil {
		return err
	}
	if sub == "show" {
		return showTemplates(ctx, osc.OpenSearch(), reg, opts)
	}
	rep, err := templates.Install(ctx, osc.OpenSearch(), reg, opts)
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "KIND\tNAME\tACTION\tDETAIL")
	for _, it := range rep.Items {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", it.Kind, it.Name, it.Action, it.Detail)
	}
	w.Flush()
	for _, n := range rep.Notes {
		fmt.Println("note:", n)
	}
	fmt.Println(rep.Summary())
	if errors.Is(err, templates.ErrRefused) {
		return exitError(1) // the refusals are in the table
	}
	return err
}

func showTemplates(ctx context.Context, c *opensearch.Client, reg *schemas.Registry, opts templates.Options) error {
	st, err := templates.Show(ctx, c, reg, opts)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "KIND\tNAME\tSTATE\tOURS\tINSTALLED\tOVERRIDDEN BY")
	outdated := false
	for _, s := range st {
		inst := "-"
		if s.Installed >= 0 {
			inst = strconv.FormatInt(s.Installed, 10)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%s\t%s\n", s.Kind, s.Name, s.State, s.Version, inst, strings.Join(s.OverriddenBy, ", "))
		if s.State != "up to date" && s.State != "no ISM plugin" {
			outdated = true
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if outdated {
		fmt.Println("some templates are missing or differ: run `siemstream templates install`")
	}
	return nil
}

// templateFlagValues are the template options shared by `templates` and the
// consumer (which installs them at start).
type templateFlagValues struct {
	install                           *bool          // consumer only
	wait                              *time.Duration // consumer only
	priority, shards, replicas        *int
	retention                         *int
	noISM                             *bool
	policy, rolloverSize, rolloverAge *string
}

// templateFlags registers the template flags; consumer=true adds
// --install-templates.
func templateFlags(f *flags, consumer bool) *templateFlagValues {
	d := templates.DefaultOptions()
	v := &templateFlagValues{
		priority:     f.integer("template-priority", "SIEM_TEMPLATE_PRIORITY", d.Priority, "base priority of the index templates (+1 catch-all, +2 per index, +5 rollover); users' own templates with priority 10 or more win"),
		shards:       f.integer("template-shards", "SIEM_TEMPLATE_SHARDS", d.Shards, "number_of_shards of every log index (0 = per-index defaults: 3, or 1 for small indices)"),
		replicas:     f.integer("template-replicas", "SIEM_TEMPLATE_REPLICAS", d.Replicas, "number_of_replicas of every log index (-1 = cluster default)"),
		noISM:        f.boolean("no-ism", "SIEM_NO_ISM", false, "do not use Index State Management (no rollover policy or rollover templates)"),
		policy:       f.str("ism-policy", "SIEM_ISM_POLICY", d.ISMPolicyID, "ISM rollover policy id"),
		rolloverSize: f.str("rollover-size", "SIEM_ROLLOVER_SIZE", d.RolloverSize, "ISM rollover min_size for index_rotation = auto"),
		rolloverAge:  f.str("rollover-age", "SIEM_ROLLOVER_AGE", "", "ISM rollover min_index_age as well (e.g. 30d; empty = size only)"),
		retention:    f.integer("retention-days", "SIEM_RETENTION_DAYS", 0, "ISM: delete rolled-over indices this many days after creation (0 = keep)"),
	}
	if consumer {
		v.install = f.boolean("install-templates", "SIEM_INSTALL_TEMPLATES", true, "install/update the index templates at start")
		v.wait = f.duration("opensearch-wait", "SIEM_OPENSEARCH_WAIT", 5*time.Minute, "at start, wait this long for OpenSearch to answer before giving up (0 = do not wait)")
	}
	return v
}

// Options turns the flags into templates.Options.
func (v *templateFlagValues) Options(deadLetterPrefix string) templates.Options {
	o := templates.DefaultOptions()
	o.Priority, o.Shards, o.Replicas = *v.priority, *v.shards, *v.replicas
	o.DisableISM, o.ISMPolicyID = *v.noISM, *v.policy
	o.RolloverSize, o.RolloverAge, o.RetentionDays = *v.rolloverSize, *v.rolloverAge, *v.retention
	if deadLetterPrefix != "" {
		o.DeadLetterPrefix = deadLetterPrefix
	}
	return o
}

// templateInstallTimeout bounds the install at consumer start.
const templateInstallTimeout = 2 * time.Minute

// InstallAtStart installs the templates before the consumer writes its
// first document, unless --install-templates=false. A cluster that refuses
// some objects (e.g. a conflicting user template) is logged and the consumer
// goes on; an unreachable cluster (within templateInstallTimeout) or bad
// options stop the start, since indices created without the templates keep
// wrong field types for their whole life.
func (v *templateFlagValues) InstallAtStart(ctx context.Context, log zerolog.Logger, c *opensearch.Client, reg *schemas.Registry, deadLetterPrefix string) error {
	if v.wait != nil {
		if err := waitOpenSearch(ctx, log, c, *v.wait); err != nil {
			return err
		}
	}
	if v.install != nil && !*v.install {
		log.Info().Msg("index templates: not installed (--install-templates=false)")
		return nil
	}
	// Bounded: the client has no request timeout, and a cluster that does
	// not answer at start should fail the start, not hang it.
	ictx, cancel := context.WithTimeout(ctx, templateInstallTimeout)
	defer cancel()
	rep, err := templates.Install(ictx, c, reg, v.Options(deadLetterPrefix))
	for _, n := range rep.Notes {
		log.Info().Str("component", "templates").Msg(n)
	}
	for _, it := range rep.Items {
		switch it.Action {
		case templates.Created, templates.Updated:
			log.Info().Str("component", "templates").Str("kind", string(it.Kind)).Str("name", it.Name).Str("detail", it.Detail).Msg(string(it.Action))
		case templates.Failed:
			log.Error().Str("component", "templates").Str("kind", string(it.Kind)).Str("name", it.Name).Msg(it.Detail)
		}
	}
	if err != nil && !errors.Is(err, templates.ErrRefused) {
		return fmt.Errorf("index templates: %w", err)
	}
	log.Info().Str("component", "templates").Msg("index templates: " + rep.Summary())
	return nil
}

// waitOpenSearch waits until the cluster answers, so that a fleet started
// with (or before) its cluster, or during a cluster restart, comes up by
// itself instead of exiting. Refused credentials end the wait at once.
func waitOpenSearch(ctx context.Context, log zerolog.Logger, c *opensearch.Client, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	var lastLog time.Time
	for wait := 500 * time.Millisecond; ; wait = min(2*wait, 10*time.Second) {
		status, msg, err := pingOpenSearch(ctx, c)
		switch {
		case err == nil && status < 300:
			if !lastLog.IsZero() {
				log.Info().Msg("OpenSearch answers")
			}
			return nil
		case err == nil && (status == 401 || status == 403):
			return fmt.Errorf("OpenSearch refused the credentials (HTTP %d: %s): check --opensearch-auth and its credentials (basic: --opensearch-user/--opensearch-password and the user's roles; sigv4: the AWS credentials, their IAM policy and the role mapping in OpenSearch)", status, msg)
		case err == nil:
			err = fmt.Errorf("HTTP %d", status)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !time.Now().Before(deadline) {
			return fmt.Errorf("OpenSearch not reachable after %s (--opensearch-wait): %w", wait, err)
		}
		if time.Since(lastLog) >= 30*time.Second {
			log.Warn().Err(err).Str("giving_up_in", time.Until(deadline).Round(time.Second).String()).Msg("waiting for OpenSearch")
			lastLog = time.Now()
		}
		if !backoff.Sleep(ctx, wait) {
			return ctx.Err()
		}
	}
}

func pingOpenSearch(ctx context.Context, c *opensearch.Client) (int, string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "/", nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := c.Perform(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	// Error bodies are scrubbed of secrets by the client's transport.
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	msg := strings.TrimSpace(string(b))
	for _, path := range []string{"message", "error.reason", "Message"} {
		if v := gjson.GetBytes(b, path); v.Type == gjson.String {
			msg, _, _ = strings.Cut(v.String(), "\n")
			break
		}
	}
	if len(msg) > 300 {
		msg = msg[:300] + "…"
	}
	return resp.StatusCode, msg, nil
}
