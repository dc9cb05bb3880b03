package geoip

import (
	"context"
	"errors"
	"fmt"

	"github.com/siemstream/siemstream/internal/reload"
)

// source loads a DB from a Store for reload.Holder.
type source struct {
	store reload.Store
	cfg   Config
}

// find returns the first existing key among candidates (ok=false if none).
func (s *source) find(ctx context.Context, keys []string) (reload.ObjectInfo, bool, error) {
	for _, k := range keys {
		info, err := s.store.Stat(ctx, k)
		if err == nil {
			return info, true, nil
		}
		if !errors.Is(err, reload.ErrNotExist) {
			return reload.ObjectInfo{}, false, err
		}
	}
	return reload.ObjectInfo{}, false, nil
}

func (s *source) Version(ctx context.Context) (string, error) {
	city, okC, err := s.find(ctx, CityKeys)
	if err != nil {
		return "", err
	}
	asn, okA, err := s.find(ctx, ASNKeys)
	if err != nil {
		return "", err
	}
	if !okC && !okA {
		return "", fmt.Errorf("no GeoLite2-City.mmdb or GeoLite2-ASN.mmdb in %s: %w", s.store, reload.ErrEmpty)
	}
	return reload.Fingerprint(city, asn), nil
}

func (s *source) Load(ctx context.Context) (*DB, error) {
	read := func(keys []string) ([]byte, error) {
		info, ok, err := s.find(ctx, keys)
		if err != nil || !ok {
			return nil, err
		}
		b, err := s.store.ReadAll(ctx, info.Key, s.cfg.MaxFileSize)
		if err != nil {
			return nil, err
		}
		if b == nil {
			b = []byte{}
		}
		return b, nil
	}
	city, err := read(CityKeys)
	if err != nil {
		return nil, err
	}
	asn, err := read(ASNKeys)
	if err != nil {
		return nil, err
	}
	if city == nil && asn == nil {
		return nil, reload.ErrEmpty
	}
	return OpenDB(city, asn, OpenOptions{CacheSize: s.cfg.CacheSize, SkipVerify: s.cfg.SkipVerify})
}
