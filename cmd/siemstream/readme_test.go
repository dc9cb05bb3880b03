package main

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/siemstream/siemstream/schemas"
)

// TestReadmeTables keeps the README's log-type and user.ini key tables equal
// to what `siemstream logtypes [--keys]` prints. After changing
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
	var types, keys bytes.Buffer
	writeLogtypes(&types, reg)
	writeUserINIKeys(&keys)
	for _, c := range []struct{ marker, want string }{{"logtypes", types.String()}, {"logkeys", keys.String()}} {
		got := between(string(readme), "<!-- "+c.marker+":begin -->", "<!-- "+c.marker+":end -->")
		if strings.TrimSpace(got) != strings.TrimSpace(c.want) {
			t.Errorf("README.md %s table is out of date: paste the output of `siemstream logtypes` (--keys for keys) between the markers", c.marker)
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
