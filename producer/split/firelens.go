package split

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/siemstream/siemstream/internal/wire"
)

// The record envelope (the header line ahead of each log) is
// internal/wire's; these are its writer's names here.
var (
	// ErrFirelens is wire.ErrFirelens.
	ErrFirelens = wire.ErrFirelens
	// AppendFirelensRecord is wire.AppendFirelensRecord.
	AppendFirelensRecord = wire.AppendFirelensRecord
)

// FirelensMeta is wire.FirelensMeta.
type FirelensMeta = wire.FirelensMeta

type firelensLine struct {
	FirelensMeta
	Log json.RawMessage `json:"log"`
}

// firelensRecord turns one line of a via_firelens object into its record.
func (s *Splitter) firelensRecord(line []byte) ([]byte, error) {
	var fl firelensLine
	if err := json.Unmarshal(line, &fl); err != nil {
		return nil, recordErrRaw(fmt.Errorf("%w: %w", ErrFirelens, err), line)
	}
	if fl.Log == nil {
		return nil, recordErrRaw(fmt.Errorf("%w: no \"log\" field", ErrFirelens), line)
	}
	var log []byte
	var str string
	if json.Unmarshal(fl.Log, &str) == nil {
		log = []byte(str)
	} else {
		log = bytes.TrimSpace(fl.Log) // a non-string log: its JSON text
	}
	if fl.EC2InstanceID != nil && *fl.EC2InstanceID == "" {
		fl.EC2InstanceID = nil // es-loader adds it only when truthy
	}
	s.fl = AppendFirelensRecord(s.fl[:0], fl.FirelensMeta, log)
	return s.fl, nil
}
