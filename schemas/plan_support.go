package schemas

// Support for normalize's output plans, which write a document without the
// tree for log types whose Go transform they can replay.

// RegisteredTransform returns the transform registered under name (nil if
// none), so that a caller can tell which transform a LogType runs.
func RegisteredTransform(name string) TransformFunc { return lookupTransform(name) }

// IANATransport is the vpcflowlogs transform's network.transport for an IANA
// protocol number ("6" → "tcp"); ok is false for numbers it leaves alone.
func IANATransport(proto []byte) (name string, ok bool) {
	name, ok = ianaTransport[string(proto)]
	return name, ok
}
