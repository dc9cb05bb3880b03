// Package doc is the ordered JSON document tree that stages build and edit
// without map[string]any: nodes are pooled per batch and serialised straight
// into a reused buffer.
package doc

// Doc is one event's document tree. Placeholder: the normalize work fills it in.
type Doc struct{}
