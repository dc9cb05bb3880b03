package main

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/siemstream/siemstream/internal/metrics"
	"github.com/siemstream/siemstream/schemas"
)

// TestReadmeTables keeps the README's log-type and user.ini key tables equal
// to what `siemstream logtypes [--keys]` prints, and its metric table to
// `siemstream metrics` (the registry's catalog). After changing
// schemas/types, paste the command's output between the markers.
func TestReadmeTables(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Skip("README.md not found")
	}
	reg, err := schemas.Load(schemas.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var types, keys, mets bytes.Buffer
	writeLogtypes(&types, reg)
	writeUserINIKeys(&keys)
	if err := metrics.WriteTable(&mets); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ marker, want string }{{"logtypes", types.String()}, {"logkeys", keys.String()}, {"metrics", mets.String()}} {
		got := between(string(readme), "<!-- "+c.marker+":begin -->", "<!-- "+c.marker+":end -->")
		if strings.TrimSpace(got) != strings.TrimSpace(c.want) {
			t.Errorf("README.md %s table is out of date: paste the output of `siemstream logtypes` (--keys for keys; `siemstream metrics` for metrics) between the markers", c.marker)
		}
	}
}

func between(s, a, b string) string {
	i := strings.Index(s, a)
	j := strings.Index(s, b)
	if i < 0 || j < i {
		return ""
	}
	return s[i+len(a) : j]
}
