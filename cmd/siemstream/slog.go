package main

import (
	"context"
	"log/slog"

	"github.com/rs/zerolog"
)

// slogTo returns a log/slog logger that writes to the process's zerolog
// logger: the stages log through slog (stages.Deps.Logger), the commands
// through zerolog, and this is the one bridge between them.
func slogTo(l zerolog.Logger) *slog.Logger { return slog.New(zerologHandler{l: l}) }

// zerologHandler is a slog.Handler over a zerolog.Logger.
type zerologHandler struct {
	l     zerolog.Logger
	attrs []slog.Attr
	group string
}

func (h zerologHandler) Enabled(_ context.Context, lvl slog.Level) bool {
	return h.l.GetLevel() <= slogToZerolog(lvl)
}

func (h zerologHandler) Handle(_ context.Context, r slog.Record) error {
	ev := h.l.WithLevel(slogToZerolog(r.Level))
	if ev == nil {
		return nil // level disabled
	}
	for _, a := range h.attrs {
		appendAttr(ev, "", a) // keys already carry their group
	}
	r.Attrs(func(a slog.Attr) bool {
		appendAttr(ev, h.group, a)
		return true
	})
	ev.Msg(r.Message)
	return nil
}

// appendAttr adds one attribute by its kind. An error must go through
// AnErr: as an interface zerolog marshals it to JSON, and most errors are
// structs with no exported fields, so the reason would be logged as {}.
func appendAttr(ev *zerolog.Event, group string, a slog.Attr) {
	v := a.Value.Resolve()
	key := a.Key
	if group != "" {
		key = group + "." + key
	}
	switch v.Kind() {
	case slog.KindString:
		ev.Str(key, v.String())
	case slog.KindInt64:
		ev.Int64(key, v.Int64())
	case slog.KindUint64:
		ev.Uint64(key, v.Uint64())
	case slog.KindFloat64:
		ev.Float64(key, v.Float64())
	case slog.KindBool:
		ev.Bool(key, v.Bool())
	case slog.KindDuration:
		ev.Dur(key, v.Duration())
	case slog.KindTime:
		ev.Time(key, v.Time())
	case slog.KindGroup:
		for _, g := range v.Group() {
			appendAttr(ev, key, g)
		}
	default:
		if err, ok := v.Any().(error); ok {
			ev.AnErr(key, err)
		} else {
			ev.Interface(key, v.Any())
		}
	}
}

func (h zerologHandler) WithAttrs(as []slog.Attr) slog.Handler {
	if h.group != "" {
		// An attribute belongs to the groups opened before it was added,
		// not to ones opened later.
		grouped := make([]slog.Attr, len(as))
		for i, a := range as {
			grouped[i] = slog.Attr{Key: h.group + "." + a.Key, Value: a.Value}
		}
		as = grouped
	}
	h.attrs = append(append([]slog.Attr(nil), h.attrs...), as...)
	return h
}

func (h zerologHandler) WithGroup(name string) slog.Handler {
	if h.group != "" {
		name = h.group + "." + name
	}
	h.group = name
	return h
}

func slogToZerolog(l slog.Level) zerolog.Level {
	switch {
	case l >= slog.LevelError:
		return zerolog.ErrorLevel
	case l >= slog.LevelWarn:
		return zerolog.WarnLevel
	case l >= slog.LevelInfo:
		return zerolog.InfoLevel
	}
	return zerolog.DebugLevel
}
