package main

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// TestSlogTo: what the stages log through slog reaches the zerolog output
// with its level, typed values and the error's text (not "{}").
func TestSlogTo(t *testing.T) {
	var buf bytes.Buffer
	log := slogTo(zerolog.New(&buf).Level(zerolog.InfoLevel))
	log.Debug("not shown")
	log.With("stage", "geoip").Error("candidate refused", "err", errors.New("bad magic"), "took", 1500*time.Millisecond, "n", 3, "ok", true)
	log.WithGroup("g").With("a", 1).Info("grouped", "b", "x", slog.Group("h", "c", 2.5))
	want := `{"level":"error","stage":"geoip","err":"bad magic","took":1500,"n":3,"ok":true,"message":"candidate refused"}
{"level":"info","g.a":1,"g.b":"x","g.h.c":2.5,"message":"grouped"}
`
	if got := buf.String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if strings.Contains(buf.String(), "not shown") {
		t.Error("debug written at info level")
	}
}
