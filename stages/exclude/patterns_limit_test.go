package exclude

import (
	"strings"
	"testing"
)

// A 10 MB pattern in exclude_log_patterns.csv is refused with the file and
// line named, quickly, and the other rows still load.
func TestParseCSVPatternTooLong(t *testing.T) {
	csv := "log_type,field,pattern,pattern_type,comment\n" +
		"vpcflowlogs,dstport," + strings.Repeat("(a|b)", 2<<20) + ",regex,bomb\n" +
		"vpcflowlogs,dstport,53,text,dns\n"
	rules, rowErrs, err := ParseCSV("exclude_log_patterns.csv", []byte(csv), []string{"vpcflowlogs"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rowErrs) != 1 || !strings.Contains(rowErrs[0].Error(), "longer than the 65536-byte limit") || !strings.Contains(rowErrs[0].Error(), "exclude_log_patterns.csv") {
		t.Fatalf("row errors %v, want one naming the file and the limit", rowErrs)
	}
	if len(rules) != 1 {
		t.Fatalf("%d rules, want the other row", len(rules))
	}
}
