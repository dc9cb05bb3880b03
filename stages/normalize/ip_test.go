package normalize

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

var ipCases = []string{"10.0.0.1", "255.255.255.255", "256.1.1.1", "01.2.3.4", "1.2.3", "1.2.3.4.5", "1.2.3.", ".1.2.3", "0.0.0.0",
	"2001:db8::1", "::1", "::ffff:1.2.3.4", "fe80::1%eth0", "fe80::1%", "2001:db8:::1", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8:9",
	"-", "", " 1.2.3.4", "1.2.3.4 ", "abc", "1.2.3.04", "2001:0db8:0000::1", "::", "1::2::3", "12345::1", "[::1]", "1.2.3.4/32"}

func TestValidIPAgainstPython(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed")
	}
	in, _ := json.Marshal(ipCases)
	cmd := exec.Command(py, "-c", `import json,sys,ipaddress
for s in json.load(sys.stdin):
    try:
        ipaddress.ip_address(s); print("1")
    except ValueError:
        print("0")`)
	cmd.Stdin = bytes.NewReader(in)
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Split(strings.TrimSpace(string(out)), "\n")
	for i, s := range ipCases {
		got := "0"
		if validIP([]byte(s)) {
			got = "1"
		}
		if got != want[i] {
			t.Errorf("%q: got %s, python %s", s, got, want[i])
		}
	}
}
