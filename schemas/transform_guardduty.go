package schemas

import (
	"strings"

	"github.com/siemstream/siemstream/internal/doc"
	"github.com/siemstream/siemstream/internal/pystr"
)

// Go transform of the guardduty log type (es-loader's sf_guardduty.py).

func init() {
	RegisterTransform("guardduty", transformGuardDuty)
}

// guardDutySeverityLabel maps GuardDuty's 0-10 severity to its label.
// es-loader (defect 22) has no branch above 8.9, so a finding of severity
// 9.0 or more raises there and loses every later change; GuardDuty calls
// 9.0-10.0 "Critical", and so do we.
func guardDutySeverityLabel(sev float64) string {
	switch {
	case sev <= 3.9:
		return "low"
	case sev <= 6.9:
		return "medium"
	case sev <= 8.9:
		return "high"
	}
	return "critical"
}

// transformGuardDuty: rule.name trimmed of spaces and final dots;
// severitylabel; the finding type split into ThreatPurpose,
// ResourceTypeAffected, ThreatFamilyName, DetectionMechanism, Artifact;
// network.direction from the action; source and destination swapped for
// outbound findings; event.category malware for malware purposes/families.
func transformGuardDuty(tc *TransformContext) error {
	d := tc.Doc
	root := d.Root()
	nameNode := at(d, root, "rule", "name")
	name, ok := strOf(d, nameNode)
	if !ok {
		return stop("rule.name missing")
	}
	d.ReplaceString(nameNode, strings.TrimRight(pystr.Strip(name), "."))

	sev, ok := number(d, d.Child(root, "severity"))
	if !ok {
		return stop("severity is not a number")
	}
	label := guardDutySeverityLabel(sev)
	typ, ok := str(d, root, "type")
	if !ok {
		return stop("type is not a string")
	}
	gt, _, ok := splitGDType(reGDType, typ)
	if !ok {
		return stop("type %q does not match", typ)
	}

	action, _ := str(d, root, "service", "action", "actionType")
	var direction string
	switch {
	case action == "NETWORK_CONNECTION":
		v, ok := str(d, root, "service", "action", "networkConnectionAction", "connectionDirection")
		if !ok {
			return stop("connectionDirection missing")
		}
		direction = v
	case action == "DNS_REQUEST":
		direction = "OUTBOUND"
	case strIn(gt.family, "SuspiciousFile", "MaliciousFile"):
	default:
		direction = "INBOUND"
	}

	d.SetString(root, "severitylabel", label)
	d.SetString(root, "ThreatPurpose", gt.purpose)
	d.SetString(root, "ResourceTypeAffected", gt.resource)
	d.SetString(root, "ThreatFamilyName", gt.family)
	setStrOrNull(d, root, "DetectionMechanism", gt.mechanism)
	setStrOrNull(d, root, "Artifact", gt.artifact)
	if direction != "" {
		d.SetString(objectAt(d, root, "network"), "direction", strings.ToLower(direction))
	}
	if direction == "OUTBOUND" {
		swapSourceDestination(d)
	}
	if strIn(gt.purpose, "Backdoor", "CryptoCurrency", "Trojan") || strIn(gt.family, "SuspiciousFile", "MaliciousFile") {
		ev := d.Child(root, "event")
		if d.Kind(ev) != doc.Object {
			return stop("no event object")
		}
		d.SetString(ev, "category", "malware")
	}
	return nil
}
