package geoip

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/oschwald/maxminddb-golang/v2"

	"github.com/siemstream/siemstream/internal/ipparse"
)

// Geo is what the City database says about an address: es-loader's
// "<entity>.geo". Empty strings and false Has* flags are absent keys.
type Geo struct {
	CityName       string
	CountryISOCode string
	CountryName    string
	Lon, Lat       float64
	HasLon, HasLat bool
	// lonText and latText are Lon and Lat as json.dumps writes them
	// (Python repr), made once per cached result.
	lonText, latText []byte
}

// AS is what the ASN database says about an address: es-loader's
// "<entity>.as" ({number, organization{name}}).
type AS struct {
	Number       uint64
	HasNumber    bool
	Organization string
}

// Result is one address's enrichment. A nil Geo or AS means that database
// has no record for the address (or is not loaded); es-loader then writes
// nothing for it. Results are shared by the cache and must not be modified.
type Result struct {
	Geo *Geo
	AS  *AS
	// enc is what enrichOut adds to an entity's object for this result
	// (appendGeoAS), encoded once when the result is made, so that
	// enriching a planned event with a cached result is one copy; long:
	// a string of it is long enough for encode's truncation rule (big).
	enc  []byte
	long bool
}

// Empty reports whether neither database knows the address.
func (r *Result) Empty() bool { return r == nil || (r.Geo == nil && r.AS == nil) }

// cityRecord is the part of a GeoIP2/GeoLite2 City record es-loader reads
// (geoip2's default locale is "en": names['en']).
type cityRecord struct {
	City struct {
		Names struct {
			En string `maxminddb:"en"`
		} `maxminddb:"names"`
	} `maxminddb:"city"`
	Country struct {
		ISOCode string `maxminddb:"iso_code"`
		Names   struct {
			En string `maxminddb:"en"`
		} `maxminddb:"names"`
	} `maxminddb:"country"`
	Location struct {
		Latitude  *float64 `maxminddb:"latitude"`
		Longitude *float64 `maxminddb:"longitude"`
	} `maxminddb:"location"`
}

type asnRecord struct {
	Number       *uint64 `maxminddb:"autonomous_system_number"`
	Organization string  `maxminddb:"autonomous_system_organization"`
}

// DB is one loaded pair of databases (either may be absent) plus the address
// cache that belongs to them. It is immutable once built and safe for
// concurrent use; a reload builds a new DB, so the cache never outlives the
// data it was filled from.
type DB struct {
	city, asn *maxminddb.Reader
	cache     *cache
	// Decoded records by their offset in the data section: addresses of
	// one network share a record, so an address missing from cache still
	// skips the (reflection) decode when a neighbour was seen. nil with
	// the cache off.
	cityRecs *recCache[Geo]
	asnRecs  *recCache[AS]
	// v4none has bit h set when no loaded database has data anywhere in
	// the IPv4 /16 h (65536 bits, 8 KiB): Lookup answers nil for its
	// addresses at once. Private ranges, which MaxMind's databases leave
	// empty and which are one side of most VPC flows, then cost no cache
	// lookup (the cache is a cache miss of its own on the hot path).
	v4none []uint64
	// CityType and ASNType are the databases' metadata types ("" if absent).
	CityType, ASNType string
}

// OpenOptions tune OpenDB.
type OpenOptions struct {
	// CacheSize bounds the number of cached addresses; <= 0 disables the cache.
	CacheSize int
	// SkipVerify skips the full integrity check of the databases (Reader.Verify),
	// which reads every node and record once.
	SkipVerify bool
}

// OpenDB opens databases from their bytes (nil = absent). The bytes are
// retained, not copied. A database that is corrupt, or whose type is not a
// City (resp. ASN) database, is refused: the whole candidate fails. At least
// one database is needed.
func OpenDB(city, asn []byte, opt OpenOptions) (*DB, error) {
	if city == nil && asn == nil {
		return nil, errors.New("no GeoIP database")
	}
	db := &DB{}
	var err error
	if city != nil {
		if db.city, err = open(city, "City", opt.SkipVerify); err != nil {
			return nil, fmt.Errorf("city database: %w", err)
		}
		db.CityType = db.city.Metadata.DatabaseType
	}
	if asn != nil {
		if db.asn, err = open(asn, "ASN", opt.SkipVerify); err != nil {
			return nil, fmt.Errorf("asn database: %w", err)
		}
		db.ASNType = db.asn.Metadata.DatabaseType
	}
	db.v4none = emptyV4(db.city, db.asn)
	if opt.CacheSize > 0 {
		db.cache = newCache(opt.CacheSize)
		db.cityRecs, db.asnRecs = newRecCache[Geo](opt.CacheSize), newRecCache[AS](opt.CacheSize)
	}
	return db, nil
}

// emptyV4 returns the /16 bitmap of DB.v4none for the loaded readers. A
// /16 counts as empty only when walking it finds no network at all: any
// network with data, or an error, leaves its bit clear.
func emptyV4(readers ...*maxminddb.Reader) []uint64 {
	none := make([]uint64, 1<<16/64)
	for i := range none {
		none[i] = ^uint64(0)
	}
	for _, r := range readers {
		if r == nil {
			continue
		}
		for h := range 1 << 16 {
			if none[h/64]&(1<<(h%64)) == 0 {
				continue
			}
			p := netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(h >> 8), byte(h), 0, 0}), 16)
			for range r.NetworksWithin(p) {
				none[h/64] &^= 1 << (h % 64)
				break
			}
		}
	}
	return none
}

// noData: addr is an IPv4 address in a /16 where no database has data.
func (db *DB) noData(addr netip.Addr) bool {
	if db.v4none == nil || !addr.Is4() {
		return false
	}
	a := addr.As4()
	h := uint(a[0])<<8 | uint(a[1])
	return db.v4none[h/64]&(1<<(h%64)) != 0
}

func open(b []byte, kind string, skipVerify bool) (*maxminddb.Reader, error) {
	r, err := maxminddb.OpenBytes(b)
	if err != nil {
		return nil, err
	}
	// geoip2's reader.city()/asn() refuse a database of another type; we
	// refuse it at load time instead of silently enriching nothing.
	if !strings.Contains(r.Metadata.DatabaseType, kind) {
		return nil, fmt.Errorf("database type %q is not a %s database", r.Metadata.DatabaseType, kind)
	}
	if !skipVerify {
		if err := r.Verify(); err != nil {
			return nil, fmt.Errorf("verify: %w", err)
		}
	}
	return r, nil
}

// HasCity and HasASN tell which databases are loaded.
func (db *DB) HasCity() bool { return db.city != nil }

// HasASN reports whether the ASN database is loaded.
func (db *DB) HasASN() bool { return db.asn != nil }

// LookupString looks up an address written as text, the way es-loader's
// GeoDB.check_ipaddress does: a value without any digit is skipped, an
// unparsable one gives nothing. It returns nil when nothing is known.
func (db *DB) LookupString(s string) *Result {
	if !hasDigit(s) {
		return nil
	}
	addr, err := ipparse.Addr(s)
	if err != nil {
		return nil
	}
	return db.Lookup(addr)
}

func hasDigit(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			return true
		}
	}
	return false
}

// Lookup returns what the databases know about addr (nil when nothing). No
// address is filtered: es-loader writes whatever the database holds, private
// ranges included (MaxMind's databases simply hold none).
func (db *DB) Lookup(addr netip.Addr) *Result {
	addr = addr.WithZone("")
	if db.noData(addr) {
		return nil
	}
	if db.cache != nil {
		if r, ok := db.cache.get(addr); ok {
			return r
		}
	}
	r := db.lookup(addr)
	if db.cache != nil {
		db.cache.put(addr, r)
	}
	return r
}

func (db *DB) lookup(addr netip.Addr) *Result {
	var res Result
	if db.city != nil {
		if lr := db.city.Lookup(addr); lr.Found() {
			var ok bool
			if res.Geo, ok = db.cityRecs.get(lr.Offset()); !ok {
				res.Geo = decodeCity(lr)
				db.cityRecs.put(lr.Offset(), res.Geo)
			}
		}
	}
	if db.asn != nil {
		if lr := db.asn.Lookup(addr); lr.Found() {
			var ok bool
			if res.AS, ok = db.asnRecs.get(lr.Offset()); !ok {
				res.AS = decodeASN(lr)
				db.asnRecs.put(lr.Offset(), res.AS)
			}
		}
	}
	if res.Geo == nil && res.AS == nil {
		return nil
	}
	res.enc, res.long = appendGeoAS(nil, &res), res.big()
	return &res
}

// decodeCity reads a City record; one that cannot be decoded is treated
// like geoip2's exception path: nothing.
func decodeCity(lr maxminddb.Result) *Geo {
	var rec cityRecord
	if lr.Decode(&rec) != nil {
		return nil
	}
	g := &Geo{
		CityName:       rec.City.Names.En,
		CountryISOCode: rec.Country.ISOCode,
		CountryName:    rec.Country.Names.En,
	}
	if rec.Location.Longitude != nil {
		g.Lon, g.HasLon = *rec.Location.Longitude, true
		g.lonText = appendPyFloat(nil, g.Lon)
	}
	if rec.Location.Latitude != nil {
		g.Lat, g.HasLat = *rec.Location.Latitude, true
		g.latText = appendPyFloat(nil, g.Lat)
	}
	return g
}

func decodeASN(lr maxminddb.Result) *AS {
	var rec asnRecord
	if lr.Decode(&rec) != nil {
		return nil
	}
	a := &AS{Organization: rec.Organization}
	if rec.Number != nil {
		a.Number, a.HasNumber = *rec.Number, true
	}
	return a
}
