package ioc

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/siemstream/siemstream/internal/reload"
)

// LoadStats summarises one load.
type LoadStats struct {
	Files, SkippedFiles int
	IPs, Domains        int
	InvalidValues       int
	Took                time.Duration
}

// source loads a DB from a Store for reload.Holder.
type source struct {
	store reload.Store
	cfg   Config
	log   *slog.Logger
}

// list returns the feed objects of one format, newest first (es-loader
// reads the newest MaxFiles), then by key.
func (s *source) list(ctx context.Context) (txt, stix []reload.ObjectInfo, err error) {
	for _, root := range []string{"IOC/", ""} {
		if txt, err = s.store.List(ctx, root+FormatTXT+"/"); err != nil {
			return nil, nil, err
		}
		if stix, err = s.store.List(ctx, root+FormatSTIX2+"/"); err != nil {
			return nil, nil, err
		}
		if len(txt)+len(stix) > 0 {
			break
		}
	}
	order := func(l []reload.ObjectInfo) []reload.ObjectInfo {
		slices.SortFunc(l, func(a, b reload.ObjectInfo) int {
			if c := b.ModTime.Compare(a.ModTime); c != 0 {
				return c
			}
			return strings.Compare(a.Key, b.Key)
		})
		if len(l) > s.cfg.MaxFiles {
			l = l[:s.cfg.MaxFiles]
		}
		return l
	}
	return order(txt), order(stix), nil
}

func (s *source) Version(ctx context.Context) (string, error) {
	txt, stix, err := s.list(ctx)
	if err != nil {
		return "", err
	}
	return reload.Fingerprint(append(txt, stix...)...), nil
}

// Load reads every feed object and builds the index. An object that cannot be
// read fails the candidate (the previous index stays); an object that is not
// a valid feed is skipped with an error log, as es-loader does.
func (s *source) Load(ctx context.Context) (*DB, error) {
	start := time.Now()
	txt, stix, err := s.list(ctx)
	if err != nil {
		return nil, err
	}
	var hint int64
	for _, o := range txt {
		hint += o.Size / 12
	}
	if hint > 1<<24 {
		hint = 1 << 24
	}
	b := NewBuilder(int(hint))
	if !s.cfg.DisableBuiltIn {
		AddBuiltIn(b)
	}
	var ls LoadStats
	read := func(o reload.ObjectInfo) ([]byte, bool, error) {
		if o.Size > s.cfg.MaxFileSize {
			s.log.Warn("feed object too large; skipped", "key", o.Key, "size", o.Size, "max", s.cfg.MaxFileSize)
			ls.SkippedFiles++
			return nil, false, nil
		}
		data, err := s.store.ReadAll(ctx, o.Key, s.cfg.MaxFileSize)
		return data, err == nil, err
	}
	report := func(st FileStats) {
		ls.Files++
		ls.InvalidValues += st.Invalid
		if st.Invalid > 0 {
			s.log.Warn("invalid feed values skipped", "key", st.Key, "invalid", st.Invalid, "examples", st.Examples)
		}
	}
	for _, o := range txt {
		data, ok, err := read(o)
		if err != nil {
			return nil, err
		}
		if ok {
			report(AddTXT(b, File{Key: o.Key, ModTime: o.ModTime, Data: data}))
		}
	}
	for _, o := range stix {
		data, ok, err := read(o)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		st, err := AddSTIX2(b, File{Key: o.Key, ModTime: o.ModTime, Data: data})
		if errors.Is(err, ErrInvalidSTIX) {
			s.log.Error("feed object skipped", "key", o.Key, "err", err)
			ls.SkippedFiles++
			continue
		}
		report(st)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	db := b.Build()
	db.MatchParents = s.cfg.MatchParentDomains
	ls.IPs, ls.Domains = db.Counts()
	ls.Took = time.Since(start)
	db.Stats = ls
	s.log.Info("IoC index built", "files", ls.Files, "skipped_files", ls.SkippedFiles, "ips", ls.IPs,
		"domains", ls.Domains, "invalid_values", ls.InvalidValues, "took", ls.Took.Round(time.Millisecond))
	return db, nil
}
