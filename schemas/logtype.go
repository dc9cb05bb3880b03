package schemas

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/siemstream/siemstream/internal/doc"
	"github.com/siemstream/siemstream/internal/pystr"
)

// Rotation is index_rotation.
type Rotation uint8

// Index rotations. es-loader tests index_rotation with substring checks in
// the order aoss, auto, daily, weekly, monthly; anything else is yearly.
const (
	RotateMonthly Rotation = iota
	RotateDaily
	RotateWeekly
	RotateYearly
	RotateAuto
	RotateAOSS
)

func (r Rotation) String() string {
	return [...]string{"monthly", "daily", "weekly", "yearly", "auto", "aoss"}[r]
}

// ECSField is one entry of the `ecs` list: the target field and where its
// value comes from.
type ECSField struct {
	Target string
	Path   doc.Path // Target split on dots
	// List: the target is one of es-loader's list-typed fields (related.ip,
	// event.category, ...). Every group is looked up, the values (strings,
	// or the strings of a list) are collected, de-duplicated and sorted.
	List bool
	// Alternatives (scalar targets): the first path whose value is neither
	// missing, null nor "" wins.
	Alternatives []doc.Path
	// Groups (list targets): each element of the configured list, itself a
	// set of alternatives.
	Groups [][]doc.Path
	// ValidateIP: the target name contains ".ip"; values that are not IP
	// addresses are dropped (es-loader utils.validate_ip).
	ValidateIP bool
}

// StaticField is one entry of `static_ecs`: a constant.
type StaticField struct {
	Target string
	Path   doc.Path
	// IsList: list-typed target; Values holds the elements. Otherwise Value.
	IsList bool
	Value  string
	Values []string
}

// Rename is one entry of renamed_newfields: top-level field Old becomes New.
type Rename struct{ New, Old string }

// LogType is one validated log type (a section of the configuration).
type LogType struct {
	Name string
	// Order is the position in detection order (0-based).
	Order int

	S3Key        *KeyMatcher // searched anywhere in the decoded key
	S3KeyIgnored *KeyMatcher // nil when not set
	// S3KeyIncluded (ours): when set, objects of this type whose key does
	// not match it are skipped — the RE2-friendly way to write "load only
	// these", instead of a negative look-ahead in s3_key_ignored.
	S3KeyIncluded *KeyMatcher
	// Problem, when not empty, is why objects of this type are skipped
	// (es-loader logs them as CRITICAL: no file_format or no index_name).
	Problem string

	FileFormat FileFormat // json csv text multiline xml winevtxml parquet cef
	// Framing is how the producer cuts an object of this type into records,
	// computed when the registry loads (zero for a type with a Problem).
	Framing                Framing
	JSONDelimiter          string
	CSVDelimiter           string // "" = whitespace separated
	TextHeaderLineNumber   int
	IgnoreHeaderLineNumber int
	// LogPattern is anchored at the start (Python re.match); groups are the
	// fields. LogPatternNames[i] is the name of group i ("" if unnamed).
	LogPattern            *regexp.Regexp
	LogPatternNames       []string
	MultilineFirstline    *regexp.Regexp // anchored at the start
	XMLFirstline          *regexp.Regexp
	ViaCWL                bool
	ViaFirelens           bool
	IgnoreContainerStderr bool
	MaxLogCount           int

	IndexName     string
	IndexSuffix   string
	IndexRotation Rotation
	// IndexTimeIngested: index_time contains "event_ingested" (date from
	// event.ingested instead of @timestamp).
	IndexTimeIngested bool
	IndexTime         string
	IndexTZ           int32 // seconds east of UTC

	// TimestampKeys: timestamp_key_list split, else [timestamp_key]; empty
	// when neither is set. Special names: cwe_timestamp, cwl_timestamp,
	// file_timestamp.
	TimestampKeys  []string
	TimestampPaths []doc.Path
	// TimestampFormats: timestamp_format_list, else [timestamp_format].
	TimestampFormats []TimeFormat
	// TimestampFormat is timestamp_format alone (used for a log's own
	// @timestamp field when no timestamp key is configured).
	TimestampFormat     TimeFormat
	TimestampTZ         int32
	TimestampNano       bool
	FileTimestampFormat *regexp.Regexp

	DocID           string // top-level field, no dotted path (as es-loader)
	DocIDSuffix     string
	DocIDSuffixPath doc.Path

	ECSVersion    string
	CloudProvider string
	ECS           []ECSField
	StaticECS     []StaticField
	ScriptECS     []string
	// Transform is the Go transform run when ScriptECS is not empty (nil if
	// none is registered; a warning says so).
	Transform        TransformFunc
	JSONToText       []doc.Path
	RenamedNewFields []Rename
	FieldPrefix      string

	// Enrichment inputs for the geoip / ioc / user-agent stages.
	ClientIPXFF              []string
	Geoip                    []string
	IOCIP                    []string
	IOCDomain                []string
	UserAgentEnrichmentField string

	raw map[string]string
}

// Raw returns the interpolated configuration value of key ("" if unset).
func (lt *LogType) Raw(key string) string { return lt.raw[key] }

// Keys lists the configuration keys of the type (DEFAULT included), sorted.
func (lt *LogType) Keys() []string {
	out := make([]string, 0, len(lt.raw))
	for k := range lt.raw {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// listTyped are the keys es-loader's create_logconfig parses as lists (space
// separated, or "[a, b]" comma separated). For ECS targets this decides
// between "first non-empty" and "collect all" mapping.
var listTyped = setOf(
	"base.tags", "clientip_xff", "container.image.tag", "dns.answers",
	"dns.header_flags", "dns.resolved_ip", "dns.type", "ecs", "static_ecs",
	"event.category", "event.type", "file.attributes", "host.ip", "host.mac",
	"ioc_domain", "ioc_ip", "observer.ip", "observer.mac", "process.args",
	"registry.data.strings", "related.hash", "related.hosts", "related.ip",
	"related.user", "renamed_newfields", "rule.author", "threat.tactic.id",
	"threat.tactic.name", "threat.tactic.reference", "threat.technique.id",
	"threat.technique.name", "threat.technique.reference",
	"threat.technique.subtechnique.id", "threat.technique.subtechnique.name",
	"threat.technique.subtechnique.reference", "tls.client.certificate_chain",
	"tls.client.supported_ciphers", "tls.server.certificate_chain",
	"user.roles", "vulnerability.category", "x509.alternative_names",
	"x509.issuer.country", "x509.issuer.locality", "x509.issuer.organization",
	"x509.issuer.organizational_unit", "x509.issuer.state_or_province",
	"x509.subject.common_name", "x509.subject.country", "x509.subject.locality",
	"x509.subject.organization", "x509.subject.organizational_unit",
	"x509.subject.state_or_province",
)

// knownKeys is the configuration vocabulary (user.ini keys); other keys are
// reported as warnings unless they are ECS/static/renamed targets or are
// referenced through ${...}.
var knownKeys = setOf(
	"bump_version", "custom_user_agent", "ignore_own_logs", "exclude_log_patterns_filename",
	"s3_key", "s3_key_ignored", "s3_key_included", "via_cwl", "via_firelens", "ignore_container_stderr",
	"loggroup", "file_format", "json_delimiter", "text_header_line_number",
	"ignore_header_line_number", "csv_delimiter", "multiline_firstline", "xml_firstline",
	"max_log_count", "index_name", "index_suffix", "index_rotation", "index_time", "index_tz",
	"doc_id", "doc_id_suffix", "timestamp_key", "timestamp_key_list", "timestamp_format",
	"timestamp_format_list", "timestamp_tz", "timestamp_nano", "file_timestamp_format",
	"ecs_version", "cloud_provider", "renamed_newfields", "field_prefix", "ecs", "static_ecs",
	"script_ecs", "json_to_text", "clientip_xff", "geoip", "ioc_ip", "ioc_domain",
	"user_agent_enrichment_field", "log_pattern",
	// siemstream extension: name of the Go transform to run (default: the
	// section name).
	"transform",
)

func setOf(s ...string) map[string]bool {
	m := make(map[string]bool, len(s))
	for _, k := range s {
		m[k] = true
	}
	return m
}

// pyList parses a list-typed value as es-loader does: "[a, b]" -> comma
// separated (brackets and '|' stripped from the ends), else whitespace split.
func pyList(v string) []string {
	if strings.HasPrefix(v, "[") {
		parts := strings.Split(strings.Trim(v, "[|]"), ",")
		for i := range parts {
			parts[i] = pystr.Strip(parts[i])
		}
		return parts
	}
	return pystr.Fields(v)
}

// pyBool is configparser's getboolean.
func pyBool(v string) (bool, error) {
	switch strings.ToLower(v) {
	case "1", "yes", "true", "on":
		return true, nil
	case "0", "no", "false", "off":
		return false, nil
	}
	return false, fmt.Errorf("not a boolean: %q", v)
}

// pyInt is int(str): whitespace, sign, underscores between digits.
func pyInt(v string) (int, error) {
	t := strings.ReplaceAll(pystr.Strip(v), "_", "")
	n, err := strconv.Atoi(t)
	if err != nil || strings.Contains(pystr.Strip(v), "__") || strings.HasPrefix(pystr.Strip(v), "_") {
		return 0, fmt.Errorf("not an integer: %q", v)
	}
	return n, nil
}

type buildErrs struct {
	section string
	errs    []error
}

func (b *buildErrs) add(key string, err error) {
	var pe *PatternError
	if errors.As(err, &pe) {
		b.errs = append(b.errs, err)
		return
	}
	b.errs = append(b.errs, fmt.Errorf("[%s] %s: %w", b.section, key, err))
}

// buildLogType types and validates section s.
func buildLogType(c *iniConfig, s *iniSection, order int) (*LogType, []string, error) {
	be := &buildErrs{section: s.name}
	var warnings []string
	refs := map[string]bool{}
	lt := &LogType{Name: s.name, Order: order, raw: map[string]string{}}
	for _, k := range c.keys(s) {
		v, err := c.get(s, k, refs)
		if err != nil {
			be.errs = append(be.errs, fmt.Errorf("[%s] (%s): %w", s.name, c.origin(s, k), err))
			continue
		}
		lt.raw[k] = v
	}
	if len(be.errs) > 0 {
		return nil, nil, errors.Join(be.errs...)
	}
	r := lt.raw
	re := func(key string, match bool) *regexp.Regexp {
		v := r[key]
		if v == "" {
			return nil
		}
		var x *regexp.Regexp
		var err error
		if match {
			x, err = compilePyMatch(s.name, key, v)
		} else {
			x, err = compilePy(s.name, key, v)
		}
		if err != nil {
			be.add(key, err)
		}
		return x
	}
	boolean := func(key string, def bool) bool {
		v, ok := r[key]
		if !ok {
			return def
		}
		b, err := pyBool(v)
		if err != nil {
			be.add(key, err)
		}
		return b
	}
	integer := func(key string, def int) int {
		v, ok := r[key]
		if !ok {
			return def
		}
		n, err := pyInt(v)
		if err != nil {
			be.add(key, err)
		}
		return n
	}

	var err error
	lt.S3Key, err = compileKey(s.name, "s3_key", r["s3_key"])
	if err != nil {
		be.add("s3_key", err)
	}
	for _, k := range []struct {
		name string
		dst  **KeyMatcher
	}{{"s3_key_ignored", &lt.S3KeyIgnored}, {"s3_key_included", &lt.S3KeyIncluded}} {
		if v := r[k.name]; v != "" {
			m, err := compileKey(s.name, k.name, v)
			if err != nil {
				be.add(k.name, err)
			}
			*k.dst = m
		}
	}
	lt.FileFormat = FileFormat(r["file_format"])
	if lt.FileFormat != "" && !lt.FileFormat.valid() {
		be.add("file_format", fmt.Errorf("unknown file format %q (%s)", lt.FileFormat, fileFormatNames()))
	}
	lt.IndexName = r["index_name"]
	switch {
	case lt.FileFormat == "":
		lt.Problem = "no file_format configured"
	case lt.IndexName == "":
		lt.Problem = "no index_name configured"
	}
	if lt.Problem != "" {
		warnings = append(warnings, fmt.Sprintf("[%s] %s: objects of this type will be skipped", s.name, lt.Problem))
	}
	lt.JSONDelimiter = r["json_delimiter"]
	lt.CSVDelimiter = r["csv_delimiter"]
	if lt.CSVDelimiter != "" && utf8.RuneCountInString(lt.CSVDelimiter) != 1 {
		be.add("csv_delimiter", fmt.Errorf("must be one character, got %q", lt.CSVDelimiter))
	}
	lt.TextHeaderLineNumber = integer("text_header_line_number", 0)
	lt.IgnoreHeaderLineNumber = integer("ignore_header_line_number", 0)
	lt.LogPattern = re("log_pattern", true)
	if lt.LogPattern != nil {
		lt.LogPatternNames = lt.LogPattern.SubexpNames()
	}
	lt.MultilineFirstline = re("multiline_firstline", true)
	lt.XMLFirstline = re("xml_firstline", true)
	if lt.FileFormat == FormatXML {
		lt.MultilineFirstline = lt.XMLFirstline
	}
	if (lt.FileFormat == FormatText || lt.FileFormat == FormatMultiline) && lt.LogPattern == nil && r["log_pattern"] == "" {
		be.add("log_pattern", fmt.Errorf("file_format %s needs a log_pattern", lt.FileFormat))
	}
	lt.ViaCWL = boolean("via_cwl", false)
	lt.ViaFirelens = boolean("via_firelens", false)
	if lt.Problem == "" && lt.FileFormat.valid() {
		if lt.Framing, err = framingOf(lt); err != nil {
			be.add("file_format", err)
		}
	}
	lt.IgnoreContainerStderr = boolean("ignore_container_stderr", true)
	lt.MaxLogCount = integer("max_log_count", 100000)

	lt.IndexSuffix = r["index_suffix"]
	rot := r["index_rotation"]
	switch {
	case rot == "aoss":
		lt.IndexRotation = RotateAOSS
	case strings.Contains(rot, "auto"):
		lt.IndexRotation = RotateAuto
	case strings.Contains(rot, "daily"):
		lt.IndexRotation = RotateDaily
	case strings.Contains(rot, "weekly"):
		lt.IndexRotation = RotateWeekly
	case strings.Contains(rot, "monthly"):
		lt.IndexRotation = RotateMonthly
	default:
		lt.IndexRotation = RotateYearly
		if rot != "yearly" {
			warnings = append(warnings, fmt.Sprintf("[%s] index_rotation %q is not auto/daily/weekly/monthly/yearly: yearly is used", s.name, rot))
		}
	}
	lt.IndexTime = r["index_time"]
	lt.IndexTimeIngested = strings.Contains(lt.IndexTime, "event_ingested")
	if lt.IndexTZ, err = ParseTZ(r["index_tz"]); err != nil {
		be.add("index_tz", err)
	}

	if kl := pystr.Fields(r["timestamp_key_list"]); len(kl) > 0 {
		lt.TimestampKeys = kl
	} else if k := r["timestamp_key"]; k != "" {
		lt.TimestampKeys = []string{k}
	}
	for _, k := range lt.TimestampKeys {
		lt.TimestampPaths = append(lt.TimestampPaths, doc.ParsePath(k))
	}
	if f := r["timestamp_format"]; f != "" {
		if lt.TimestampFormat, err = ParseTimeFormat(f); err != nil {
			be.add("timestamp_format", err)
		}
	} else {
		be.add("timestamp_format", errors.New("is empty"))
	}
	if fl := r["timestamp_format_list"]; fl != "" {
		var list []string
		if err := json.Unmarshal([]byte(fl), &list); err != nil {
			be.add("timestamp_format_list", fmt.Errorf("is not a JSON list of strings: %v", err))
		}
		for _, f := range list {
			tf, err := ParseTimeFormat(f)
			if err != nil {
				be.add("timestamp_format_list", err)
				continue
			}
			lt.TimestampFormats = append(lt.TimestampFormats, tf)
		}
	}
	if len(lt.TimestampFormats) == 0 {
		lt.TimestampFormats = []TimeFormat{lt.TimestampFormat}
	}
	if lt.TimestampTZ, err = ParseTZ(r["timestamp_tz"]); err != nil {
		be.add("timestamp_tz", err)
	}
	lt.TimestampNano = boolean("timestamp_nano", false)
	lt.FileTimestampFormat = re("file_timestamp_format", false)

	lt.DocID = r["doc_id"]
	lt.DocIDSuffix = r["doc_id_suffix"]
	if lt.DocIDSuffix != "" {
		lt.DocIDSuffixPath = doc.ParsePath(lt.DocIDSuffix)
	}
	lt.ECSVersion = r["ecs_version"]
	lt.CloudProvider = r["cloud_provider"]

	targets := map[string]bool{}
	for _, target := range pyList(r["ecs"]) {
		if target == "" {
			continue
		}
		targets[target] = true
		v, ok := r[target]
		if !ok {
			be.add("ecs", fmt.Errorf("target %q has no mapping key %q", target, target))
			continue
		}
		f := ECSField{Target: target, Path: doc.ParsePath(target), List: listTyped[target], ValidateIP: strings.Contains(target, ".ip")}
		if f.List {
			for _, el := range pyList(v) {
				var alts []doc.Path
				for _, p := range pystr.Fields(el) {
					alts = append(alts, doc.ParsePath(p))
				}
				f.Groups = append(f.Groups, alts)
			}
		} else {
			for _, p := range pystr.Fields(v) {
				f.Alternatives = append(f.Alternatives, doc.ParsePath(p))
			}
		}
		lt.ECS = append(lt.ECS, f)
	}
	for _, target := range pyList(r["static_ecs"]) {
		if target == "" {
			continue
		}
		targets[target] = true
		v, ok := r[target]
		if !ok {
			be.add("static_ecs", fmt.Errorf("target %q has no value key %q", target, target))
			continue
		}
		f := StaticField{Target: target, Path: doc.ParsePath(target), IsList: listTyped[target]}
		if f.IsList {
			f.Values = pyList(v)
		} else {
			f.Value = v
		}
		lt.StaticECS = append(lt.StaticECS, f)
	}
	lt.ScriptECS = pystr.Fields(r["script_ecs"])
	for _, k := range pystr.Fields(r["json_to_text"]) {
		lt.JSONToText = append(lt.JSONToText, doc.ParsePath(k))
	}
	for _, nf := range pyList(r["renamed_newfields"]) {
		if nf == "" {
			continue
		}
		targets[nf] = true
		old, ok := r[nf]
		if !ok {
			be.add("renamed_newfields", fmt.Errorf("new field %q has no key %q naming the old field", nf, nf))
			continue
		}
		lt.RenamedNewFields = append(lt.RenamedNewFields, Rename{New: nf, Old: old})
	}
	lt.FieldPrefix = r["field_prefix"]
	lt.ClientIPXFF = pyList(r["clientip_xff"])
	lt.Geoip = pystr.Fields(r["geoip"])
	lt.IOCIP = pyList(r["ioc_ip"])
	lt.IOCDomain = pyList(r["ioc_domain"])
	lt.UserAgentEnrichmentField = r["user_agent_enrichment_field"]

	if len(lt.ScriptECS) > 0 {
		name := r["transform"]
		if name == "" {
			name = s.name
		}
		lt.Transform = lookupTransform(name)
		if lt.Transform == nil {
			warnings = append(warnings, fmt.Sprintf("[%s] script_ecs is set but no Go transform named %q is registered: documents are mapped without it", s.name, name))
		}
	}

	for _, k := range s.order {
		if !knownKeys[k] && !targets[k] && !refs[k] {
			warnings = append(warnings, fmt.Sprintf("[%s] unknown key %q (%s) is ignored", s.name, k, c.origin(s, k)))
		}
	}
	if len(be.errs) > 0 {
		return nil, nil, errors.Join(be.errs...)
	}
	return lt, warnings, nil
}
