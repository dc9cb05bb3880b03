package templates

import (
	"errors"
	"fmt"
	"regexp"
)

// Options configures Build and Install. DefaultOptions gives es-loader's
// values.
type Options struct {
	// Priority is the base priority of the composable index templates: the
	// catch-all log-aws_aws and log-ocsf_aws get Priority+1, every other
	// family Priority+2, the ISM rollover templates Priority+5. Zero gives
	// es-loader's priorities (1, 2, 5). A user's own template with a
	// priority of 10 or more (what es-loader's documentation asks for)
	// overrides ours; keep Priority+5 below the users' priorities.
	Priority int
	// Shards sets index.number_of_shards in every index template. Zero keeps
	// the component defaults (3 for most log indices, 1 for small ones such
	// as Config, GuardDuty, Security Hub, as es-loader).
	Shards int
	// Replicas sets index.number_of_replicas in every index template;
	// negative leaves it to the cluster default (1 on OpenSearch). Zero means
	// zero replicas (a single-node cluster).
	Replicas int
	// DeadLetterPrefix is the consumer's dead-letter index prefix (its
	// --dead-letter-index): the dead-letter template matches <prefix>-*.
	// Empty: siemstream-deadletter.
	DeadLetterPrefix string

	// DisableISM skips Index State Management entirely: no detection, no
	// policy, no rollover templates. Zero (false): detect the ISM plugin and
	// install the policy and rollover templates when it is there.
	DisableISM bool
	// ISMPolicyID names the rollover policy. Empty: rollover100gb, the name
	// es-loader uses, so ours replaces its policy instead of competing with
	// it for the same indices.
	ISMPolicyID string
	// RolloverSize is the rollover action's min_size. Empty: 100gb.
	RolloverSize string
	// RolloverAge, when set (e.g. 30d), also rolls over an index that is
	// this old (min_index_age). Empty: size only.
	RolloverAge string
	// RetentionDays deletes rolled-over indices this many days after they
	// were created. Zero keeps them forever (es-loader's policy).
	RetentionDays int

	// NoWriteAliases skips creating <index>-000001 with the write alias
	// <index> for log types with index_rotation = auto. Zero (false):
	// create it when neither the alias nor an index of that name exists.
	NoWriteAliases bool
	// Force PUTs every template even when the installed version equals
	// ours.
	Force bool
}

// DefaultOptions returns es-loader's settings: base priority 0, the
// component defaults for shards, the cluster default for replicas, the
// rollover100gb policy without retention.
func DefaultOptions() Options {
	return Options{
		Replicas:         -1,
		DeadLetterPrefix: defaultDeadLetterPrefix,
		ISMPolicyID:      defaultPolicyID,
		RolloverSize:     defaultRolloverSize,
	}
}

const (
	defaultDeadLetterPrefix = "siemstream-deadletter"
	defaultPolicyID         = "rollover100gb"
	defaultRolloverSize     = "100gb"
)

var (
	sizeRE = regexp.MustCompile(`^[0-9]+(b|kb|mb|gb|tb|pb)$`)
	ageRE  = regexp.MustCompile(`^[0-9]+(d|h|m|s|ms|micros|nanos)$`)
	idRE   = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]*$`)
)

// Validate checks the options.
func (o Options) Validate() error {
	var errs []error
	if o.Priority < 0 {
		errs = append(errs, errors.New("templates: priority must not be negative"))
	}
	if o.Shards < 0 {
		errs = append(errs, errors.New("templates: shards must not be negative"))
	}
	if o.Replicas < -1 {
		errs = append(errs, errors.New("templates: replicas must be -1 (cluster default) or more"))
	}
	if o.DeadLetterPrefix != "" {
		if err := validIndexName(o.DeadLetterPrefix); err != nil {
			errs = append(errs, fmt.Errorf("templates: dead-letter prefix %q: %w", o.DeadLetterPrefix, err))
		}
	}
	if o.ISMPolicyID != "" && !idRE.MatchString(o.ISMPolicyID) {
		errs = append(errs, fmt.Errorf("templates: ISM policy id %q: want lower-case letters, digits, _ . -", o.ISMPolicyID))
	}
	if o.RolloverSize != "" && !sizeRE.MatchString(o.RolloverSize) {
		errs = append(errs, fmt.Errorf("templates: rollover size %q: want a byte size such as 100gb", o.RolloverSize))
	}
	if o.RolloverAge != "" && !ageRE.MatchString(o.RolloverAge) {
		errs = append(errs, fmt.Errorf("templates: rollover age %q: want a time unit such as 30d", o.RolloverAge))
	}
	if o.RetentionDays < 0 {
		errs = append(errs, errors.New("templates: retention days must not be negative"))
	}
	return errors.Join(errs...)
}

// withDefaults fills empty strings with their defaults.
func (o Options) withDefaults() Options {
	if o.DeadLetterPrefix == "" {
		o.DeadLetterPrefix = defaultDeadLetterPrefix
	}
	if o.ISMPolicyID == "" {
		o.ISMPolicyID = defaultPolicyID
	}
	if o.RolloverSize == "" {
		o.RolloverSize = defaultRolloverSize
	}
	return o
}
