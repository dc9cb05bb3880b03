package schemas

import "strings"

// Go transform of the elasticache-redis-slowlog log type (es-loader's
// sf_elasticache_redis_slowlog.py).

func init() {
	RegisterTransform("elasticache_redis_slowlog", transformRedisSlowlog)
}

// transformRedisSlowlog: ClientAddress "ip:port" becomes source.ip,
// source.port, source.address and related.ip.
func transformRedisSlowlog(tc *TransformContext) error {
	d := tc.Doc
	root := d.Root()
	ca := d.Child(root, "ClientAddress")
	if !d.Truthy(ca) {
		return nil
	}
	s, ok := strOf(d, ca)
	i := strings.LastIndexByte(s, ':')
	if !ok || i < 0 {
		return stop("ClientAddress %q", s)
	}
	ip, port := s[:i], s[i+1:]
	src := freshObject(d, root, "source")
	d.SetString(src, "ip", ip)
	d.SetString(src, "port", port)
	d.SetString(src, "address", ip)
	l := d.SetArray(objectAt(d, root, "related"), "ip")
	d.AppendString(l, ip)
	return nil
}
