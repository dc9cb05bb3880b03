package normalize

import "github.com/siemstream/siemstream/internal/pystr"

// Python's str.strip()/rstrip(); the rule lives in internal/pystr.
func pyStrip(b []byte) []byte  { return pystr.StripBytes(b) }
func pyRStrip(b []byte) []byte { return pystr.RStripBytes(b) }
