package decode

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/siemstream/siemstream/schemas"
	"github.com/siemstream/siemstream/stages"
)

// es-loader fileformat_cef patterns, as regular expressions. decodeCEF
// uses the hand-written equivalents cefSplit and cefPairs (RE2 runs these
// with submatches at ~5 MB/s); the tests check them against these.
var (
	cefRecord    = regexp.MustCompile(`((CEF:\s?\d+)([^=\\]+\|){0,7})(.*)`)
	cefExtension = regexp.MustCompile(`([^=\s]+)=((?:[\\]=|[^=])+)(?:\s|$)`)
)

// cefSplit is re.search(RE_LOGRAW, line): the header (group 1: "CEF:n"
// then, greedily, everything up to the last '|' before the first '=', '\'
// or end of line) and the extension (group 4: the rest of the line).
func cefSplit(line string) (header, ext string, ok bool) {
	from := 0
	for {
		i := strings.Index(line[from:], "CEF:")
		if i < 0 {
			return "", "", false
		}
		p := from + i + 4
		q := p
		if q < len(line) && isCEFSpace(line[q]) && q+1 < len(line) && isDigit(line[q+1]) {
			q++
		}
		if q < len(line) && isDigit(line[q]) {
			for q < len(line) && isDigit(line[q]) {
				q++
			}
			end := q
			for r := q; r < len(line); r++ {
				c := line[r]
				if c == '=' || c == '\\' {
					break
				}
				if c == '|' && r > q {
					end = r + 1
				}
			}
			rest := line[end:]
			if nl := strings.IndexByte(rest, '\n'); nl >= 0 {
				rest = rest[:nl]
			}
			return line[from+i : end], rest, true
		}
		from += i + 1
	}
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// isCEFSpace is RE2's \s (the patterns above), ASCII only.
func isCEFSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r' }

// cefPairs is re.findall(RE_EXTENSION, ext): key=value pairs where a
// value runs over anything but a bare '=' ("\=" is kept) and ends before
// the last whitespace preceding the next '=' (or at the end).
func cefPairs(ext string, yield func(k, v string)) {
	pos := 0
	n := len(ext)
	for pos < n {
		// the next '=' that ends a non-empty key (a run of non-space,
		// non-'=' bytes starting at or after pos)
		q := -1
		for j := pos; j < n; j++ {
			if ext[j] == '=' && j > pos && ext[j-1] != '=' && !isCEFSpace(ext[j-1]) {
				// value: greedy over "\=" pairs and non-'=' bytes
				start := j + 1
				maxEnd := start
				for maxEnd < n {
					if ext[maxEnd] == '\\' && maxEnd+1 < n && ext[maxEnd+1] == '=' {
						maxEnd += 2
						continue
					}
					if ext[maxEnd] == '=' {
						break
					}
					maxEnd++
				}
				e := -1
				if maxEnd == n && maxEnd > start {
					e = n
				} else {
					for k := maxEnd - 1; k > start; k-- {
						if isCEFSpace(ext[k]) {
							e = k
							break
						}
					}
				}
				if e < 0 {
					continue // no match with this '='; try the next one
				}
				ks := j - 1
				for ks > pos && ext[ks-1] != '=' && !isCEFSpace(ext[ks-1]) {
					ks--
				}
				yield(ext[ks:j], ext[start:e])
				q = e
				if e < n {
					q = e + 1
				}
				break
			}
		}
		if q < 0 {
			return
		}
		pos = q
	}
}

// cefInvalid is es-loader's error.message for a line that is not CEF.
const cefInvalid = "invalid cef file"

// decodeCEF parses one CEF line as es-loader's FileFormatCef: the header
// (the "CEF:n" prefix and up to seven '|'-terminated fields before the
// first '=' or '\') is split on '|' not preceded by '\' into cef_version,
// cef_device_vendor, cef_device_product, cef_device_version,
// cef_device_event_class_id, cef_name and cef_severity (escapes are kept,
// as es-loader does); the extension is key=value pairs (a value runs to the
// whitespace before the next key=); for each xxxLabel key whose xxx key
// exists, the value of xxx is stored under the label's value and both
// xxx and xxxLabel are removed. A line without "CEF:n" is indexed
// un-normalised with error.message "invalid cef file" (es-loader
// __skip_normalization). A header with fewer than six fields, where
// es-loader raises, fails the record.
func decodeCEF(lt *schemas.LogType, e *stages.Event, rec []byte) error {
	line := string(pyStrip(rec))
	header, ext, ok := cefSplit(line)
	if !ok {
		e.Doc.Meta.SkipNormalization = true
		e.Doc.Meta.ErrorMessage = cefInvalid
		return nil
	}
	hs := splitUnescapedPipe(header)
	if len(hs) < 6 {
		return fmt.Errorf("decode cef (log type %s): %w: header has %d fields, want at least 6", lt.Name, ErrRecord, len(hs))
	}
	o := &omap{}
	v := hs[0]
	if i := strings.LastIndexByte(v, ':'); i >= 0 {
		v = v[i+1:]
	}
	o.set("cef_version", string(pyStrip([]byte(v))))
	o.set("cef_device_vendor", hs[1])
	o.set("cef_device_product", hs[2])
	o.set("cef_device_version", hs[3])
	o.set("cef_device_event_class_id", hs[4])
	o.set("cef_name", hs[5])
	if len(hs) > 6 {
		o.set("cef_severity", hs[6])
	}
	ed := &omap{}
	cefPairs(ext, func(k, v string) { ed.set(k, v) })
	keys := append([]string(nil), ed.keys...)
	for _, k := range keys {
		if !strings.HasSuffix(k, "Label") {
			continue
		}
		custom := k[:len(k)-len("Label")]
		label, ok := ed.get(k)
		if !ok {
			continue // removed by an earlier fold (es-loader raises here)
		}
		val, ok := ed.get(custom)
		if !ok {
			continue
		}
		ed.set(label.(string), val)
		ed.del(custom)
		ed.del(k)
	}
	for i, k := range ed.keys {
		o.set(k, ed.vals[i])
	}
	d := e.Doc
	root := d.Root()
	for i, k := range o.keys {
		d.SetString(root, k, o.vals[i].(string))
	}
	return nil
}

// splitUnescapedPipe is re.split(r'(?<!\\)\|', s).
func splitUnescapedPipe(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '|' && (i == 0 || s[i-1] != '\\') {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}
