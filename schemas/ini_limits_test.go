package schemas

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestUserINILimits: configurations that made the loader exhaust memory or
// time fail fast, with an error naming the section and key.
func TestUserINILimits(t *testing.T) {
	// "Billion laughs": each level refers to the previous one ten times.
	var laughs strings.Builder
	laughs.WriteString("[bomb]\ns3_key = bomb/\nfile_format = text\na0 = lololololololololololololololololololo\n")
	for i := 1; i <= 9; i++ {
		fmt.Fprintf(&laughs, "a%d = %s\n", i, strings.Repeat(fmt.Sprintf("${a%d}", i-1), 10))
	}
	if n := laughs.Len(); n > 600 {
		t.Fatalf("the bomb is %d bytes, want a small one", n)
	}
	manySections := strings.Builder{}
	for i := range 140_000 {
		fmt.Fprintf(&manySections, "[t%d]\n", i)
	}
	cases := []struct {
		name, ini string
		want      []string
	}{
		{"interpolation bomb", laughs.String(), []string{"[bomb]", `option "a5"`, "after interpolation"}},
		{"sections", manySections.String(), []string{"more than 10000 sections"}},
		{"regex", "[big]\ns3_key = " + strings.Repeat("(a|b)", 200_000) + "\nfile_format = text\n", []string{"[big] s3_key", "longer than the 65536-byte limit"}},
		{"file size", "[big]\ns3_key = x\nfile_format = text\ncomment = " + strings.Repeat("x", 5<<20) + "\n", []string{"larger than"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "user.ini")
			if err := os.WriteFile(path, []byte(c.ini), 0o600); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			_, err := Load(Options{UserINI: path})
			if err == nil {
				t.Fatal("loaded")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %.300q does not say %q", err, w)
				}
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
}
