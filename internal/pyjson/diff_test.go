package pyjson

import (
	"bytes"
	"fmt"
	"testing"
)

// The fast paths (word-at-a-time copies and escapes, whole-run UTF-8
// copies, raw key splicing, hashed duplicate checks) must print exactly
// what the slow path prints, error or not: appendOpt and decodeString with
// slow set (one byte or rune at a time, every key decoded and compared with
// all before it), appendQuotedSlow and copyPlainSlow.

func diffSeeds() [][]byte {
	var seeds [][]byte
	for _, c := range table {
		seeds = append(seeds, []byte(c.in))
	}
	for _, s := range trickyInputs {
		seeds = append(seeds, []byte(s))
	}
	for _, s := range []string{
		`{"abcdefgh":1,"abcdefgh":2}`, `{"abcdefghijklmnop":{"x":1},"abcdefghijklmnoq":2,"abcdefghijklmnop":3}`,
		`{"a\"b":1,"a\u0022b":2}`, `{"k\u00e9y":"v\u00e9","k\u00e9y":"w"}`, `{"\u0000":1}`,
		"{\"a\x7fb\":\"c\x7fd\"}", "{\"é\":\"\xff\xfeabc\xe3\x81\"}", `{"0123456789abcdef0123456789":"0123456789abcdef\"0123456789"}`,
		`{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9,"j":10,"k":11,"l":12,"m":13,"n":14,"o":15,"p":16,"q":17,"r":18,"s":19,"t":20,"u":21,"v":22,"w":23,"x":24,"y":25,"z":26,"a":0}`,
		`{"x":"`, `{"abcdefghij`, `{"abc\`, `"abcdefghijklmnop\u12"`, "\"abcdefgh\x01\"",
	} {
		seeds = append(seeds, []byte(s))
	}
	return seeds
}

func errText(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

func checkAppendSame(t *testing.T, in []byte) {
	t.Helper()
	for _, prefix := range []string{"", "prefix-"} {
		for _, ascii := range []bool{false, true} {
			f := Append
			if ascii {
				f = AppendASCII
			}
			got, gerr := f([]byte(prefix), in)
			want, werr := appendOpt([]byte(prefix), in, ascii, true)
			if !bytes.Equal(got, want) || errText(gerr) != errText(werr) {
				t.Fatalf("ascii=%v %q:\n got %q %v\nwant %q %v", ascii, in, got, gerr, want, werr)
			}
		}
	}
}

// plainLenSlow is PlainLen one byte at a time.
func plainLenSlow(s []byte) int {
	for i, c := range s {
		if !plain[c] {
			return i
		}
	}
	return len(s)
}

func checkStringSame(t *testing.T, s []byte) {
	t.Helper()
	if got, want := PlainLen(s), plainLenSlow(s); got != want {
		t.Fatalf("PlainLen(%q) = %d, byte at a time %d", s, got, want)
	}
	// dst with no spare capacity, with a little, and with plenty: the word
	// stores must never write past what is kept or lose a byte on growth
	for _, dst := range [][]byte{nil, []byte("ab"), append(make([]byte, 0, 3), 'x'), make([]byte, 1, 4096)} {
		d0 := append([]byte(nil), dst...)
		if got, want := AppendQuoted(bytes.Clone(dst), s), appendQuotedSlow(bytes.Clone(d0), s, false); !bytes.Equal(got, want) {
			t.Fatalf("AppendQuoted(%q):\n got %q\nwant %q", s, got, want)
		}
		if got, want := AppendQuotedASCII(bytes.Clone(dst), s), appendQuotedSlow(bytes.Clone(d0), s, true); !bytes.Equal(got, want) {
			t.Fatalf("AppendQuotedASCII(%q):\n got %q\nwant %q", s, got, want)
		}
		got, gi := AppendPlainRun(bytes.Clone(dst), s, 0)
		want, wi := copyPlainSlow(bytes.Clone(d0), s, 0)
		if !bytes.Equal(got, want) || gi != wi {
			t.Fatalf("AppendPlainRun(%q): got %q %d want %q %d", s, got, gi, want, wi)
		}
		lit := append([]byte{'"'}, s...)
		for _, tail := range []string{`"`, `", 1`, ``} {
			src := append(bytes.Clone(lit), tail...)
			got, gi, gerr := DecodeString(bytes.Clone(dst), src, 0)
			want, wi, werr := decodeString(bytes.Clone(d0), src, 0, true)
			if !bytes.Equal(got, want) || gi != wi || errText(gerr) != errText(werr) {
				t.Fatalf("DecodeString(%q): got %q %d %v want %q %d %v", src, got, gi, gerr, want, wi, werr)
			}
		}
	}
}

func TestFastPathsMatchReference(t *testing.T) {
	for _, in := range diffSeeds() {
		checkAppendSame(t, in)
		checkStringSame(t, in)
	}
	// every byte value at every position of a word and its tail
	for n := 1; n <= 20; n++ {
		for pos := 0; pos < n; pos++ {
			for c := 0; c < 256; c++ {
				s := bytes.Repeat([]byte{'a'}, n)
				s[pos] = byte(c)
				checkStringSame(t, s)
				checkAppendSame(t, fmt.Appendf(nil, `{%q:1,"v":"%s"}`, s, s))
			}
		}
	}
}

func FuzzFastPathsMatchReference(f *testing.F) {
	for _, s := range diffSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		checkAppendSame(t, in)
		checkStringSame(t, in)
	})
}

func BenchmarkAppendQuotedMessage(b *testing.B) {
	msg, err := Append(nil, []byte(`{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","principalId":"AIDA4I9GDM34BQXG9BENV","arn":"arn:aws:iam::123456789012:user/bob","accountId":"123456789012","accessKeyId":"AKIA18E4A59UJNZED701","userName":"bob"},"eventTime":"2025-03-14T12:00:00Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"eu-west-1","sourceIPAddress":"8.8.8.8","userAgent":"aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64","requestParameters":{"bucketName":"app-data-irztme","key":"reports/2025/q1.csv","Host":"app-data.s3.us-east-1.amazonaws.com"},"responseElements":null,"requestID":"e7d9fa24-8198-0064-6a1b-7eb3c7393b3c","eventID":"6a086eac-f5a7-c1da-2880-018ae7a38713","readOnly":true,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"123456789012","eventCategory":"Management","tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"s3.amazonaws.com"}}`))
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 0, 4096)
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendQuoted(buf[:0], msg)
	}
}
