package decode

import "github.com/siemstream/siemstream/internal/pystr"

// Python's str.strip()/rstrip()/split(); the rule lives in internal/pystr.
func pyStrip(b []byte) []byte                  { return pystr.StripBytes(b) }
func pyRStrip(b []byte) []byte                 { return pystr.RStripBytes(b) }
func pyFields(dst [][]byte, b []byte) [][]byte { return pystr.AppendFields(dst, b) }
