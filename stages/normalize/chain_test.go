package normalize_test

import (
	"errors"
	"testing"
	"time"

	"github.com/siemstream/siemstream/schemas"
	"github.com/siemstream/siemstream/stages"
	"github.com/siemstream/siemstream/stages/decode"
	"github.com/siemstream/siemstream/stages/encode"
	"github.com/siemstream/siemstream/stages/normalize"
)

// coreChain is decode → normalize → encode with event.ingested frozen at
// frozenNow: the chain the goldens are written with (no enrichment stage,
// so a golden shows what normalize alone makes of a record).
func coreChain(tb testing.TB, reg *schemas.Registry) stages.Chain {
	tb.Helper()
	deps := stages.Deps{Registry: reg}
	dec, err1 := decode.New(decode.DefaultConfig(), deps)
	norm, err2 := normalize.New(normalize.Config{Now: func() time.Time { return frozenNow }}, deps)
	enc, err3 := encode.New(encode.DefaultConfig(), deps)
	if err := errors.Join(err1, err2, err3); err != nil {
		tb.Fatal(err)
	}
	return stages.Chain{dec, norm, enc}
}

// TestNewNeedsRegistry: a chain assembled without the log types fails at
// start, not at the first record.
func TestNewNeedsRegistry(t *testing.T) {
	if _, err := normalize.New(normalize.DefaultConfig(), stages.Deps{}); err == nil {
		t.Fatal("New without a registry: no error")
	}
}
