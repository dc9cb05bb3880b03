package decode

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/siemstream/siemstream/internal/wire"
	"github.com/siemstream/siemstream/stages"
)

// FuzzDecodeFormats: the cef, xml, winevtxml, via_cwl and via_firelens
// decoders never panic, and a record is either kept with a document or
// failed with ErrRecord (or dropped, for firelens stderr).
func FuzzDecodeFormats(f *testing.F) {
	for _, name := range []string{"cef.log", "winevt.xml", "generic.xml"} {
		if b, err := os.ReadFile("../../testdata/formats/" + name); err == nil {
			for _, line := range strings.Split(string(b), "\n") {
				f.Add(line, uint8(0))
				f.Add(line, uint8(1))
				f.Add(line, uint8(2))
			}
			f.Add(string(b), uint8(2))
		}
	}
	src := "stderr"
	f.Add(string(wire.AppendFirelensRecord(nil, wire.FirelensMeta{Source: &src}, []byte("INFO x"))), uint8(4))
	f.Add(string(wire.AppendCWLRecord(nil, wire.CWLMeta{ID: "1"}, []byte("INFO a"))), uint8(3))
	f.Add("CEF:0|a|b|c|d|e|f|k=v kLabel=L", uint8(0))
	reg := registry(f, formatsINI)
	types := []string{"t-cef", "t-xml", "t-winevt", "t-cwl-text", "t-firelens", "t-firelens-json", "t-cwl-json"}
	f.Fuzz(func(t *testing.T, raw string, which uint8) {
		lt := types[int(which)%len(types)]
		b := run(t, reg, &stages.Source{LogType: lt}, raw)
		e := b.Events[0]
		switch e.Status {
		case stages.Keep:
			if e.Doc == nil {
				t.Fatal("kept without a document")
			}
			e.Doc.AppendJSON(nil)
		case stages.Failed:
			if e.Err == nil {
				t.Fatal("failed without a reason")
			}
		}
	})
}

func benchDecode(b *testing.B, lt string, recs []string) {
	reg := registry(b, formatsINI)
	src := &stages.Source{LogType: lt}
	st := newStage(b, reg)
	batch := &stages.Batch{Arena: new(stages.Arena)} // as Chain.Process runs it
	var size int
	for i, r := range recs {
		size += len(r)
		batch.Events = append(batch.Events, stages.Event{Src: src, Ordinal: int64(i + 1), Raw: []byte(r)})
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		for i := range batch.Events {
			batch.Events[i].Status = stages.Keep
		}
		batch.Arena.Reset()
		if err := st.Process(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
	for _, e := range batch.Events {
		if e.Status != stages.Keep {
			b.Fatalf("record failed: %v", e.Err)
		}
	}
}

func BenchmarkDecodeCEF(b *testing.B) {
	var recs []string
	for i := 0; i < 1000; i++ {
		recs = append(recs, fmt.Sprintf("CEF:0|Trend Micro|Deep Security Manager|10.0|600|User Signed In|3|src=10.52.116.%d suser=admin%d target=admin msg=User signed in from 10.52.116.160 cs1Label=Tenant cs1=Primary cn1Label=ExtraID cn1=%d", i%250, i, i))
	}
	benchDecode(b, "t-cef", recs)
}

func BenchmarkDecodeWinEvtXML(b *testing.B) {
	var recs []string
	for i := 0; i < 1000; i++ {
		recs = append(recs, fmt.Sprintf("<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='Microsoft-Windows-Security-Auditing' Guid='{54849625-5478-4994-A5BA-3E3B0328C30D}'/><EventID>4624</EventID><Version>2</Version><Level>0</Level><Task>12544</Task><TimeCreated SystemTime='2025-03-14T10:00:00.1234567Z'/><EventRecordID>%d</EventRecordID><Execution ProcessID='664' ThreadID='720'/><Channel>Security</Channel><Computer>host1.example.com</Computer><Security/></System><EventData><Data Name='SubjectUserSid'>S-1-5-18</Data><Data Name='SubjectUserName'>user%d</Data><Data Name='LogonType'>5</Data><Data Name='PrivilegeList'>SeA SeB</Data></EventData></Event>", i, i))
	}
	benchDecode(b, "t-winevt", recs)
}

func BenchmarkDecodeXML(b *testing.B) {
	var recs []string
	for i := 0; i < 1000; i++ {
		recs = append(recs, fmt.Sprintf("<rec id=\"%d\">\n  <a>1</a>\n  <a>2</a>\n  <b x=\"y\"> text %d </b>\n  <c/>\n</rec>", i, i))
	}
	benchDecode(b, "t-xml", recs)
}

func BenchmarkDecodeCWLJSON(b *testing.B) {
	var recs []string
	for i := 0; i < 1000; i++ {
		recs = append(recs, string(wire.AppendCWLRecord(nil, wire.CWLMeta{Owner: "123456789012", LogGroup: "/aws/lambda/f", LogStream: "2025/03/14/[$LATEST]abc", ID: fmt.Sprint(36120000 + i), Timestamp: "1741946400000"},
			[]byte(fmt.Sprintf(`{"level":"INFO","msg":"request %d handled","path":"/api/v1/items"}`, i)))))
	}
	benchDecode(b, "t-cwl-json", recs)
}

func BenchmarkDecodeFirelens(b *testing.B) {
	var recs []string
	for i := 0; i < 1000; i++ {
		id, name, source, cluster, arn, def := "c1", "/app", "stdout", "cl", "arn:aws:ecs:us-east-1:123456789012:task/cl/abc", "app:1"
		recs = append(recs, string(wire.AppendFirelensRecord(nil, wire.FirelensMeta{ContainerID: &id, ContainerName: &name, Source: &source, ECSCluster: &cluster, ECSTaskARN: &arn, ECSTaskDefinition: &def},
			[]byte(fmt.Sprintf("INFO request %d handled", i)))))
	}
	benchDecode(b, "t-firelens", recs)
}

// FuzzCEFMatchesRegexp: the hand-written CEF splitters give exactly what
// es-loader's regular expressions give.
func FuzzCEFMatchesRegexp(f *testing.F) {
	for _, s := range []string{
		"CEF:0|a|b|c|d|e|f|k=v k2=v two  k3=x\\=y",
		"x CEF: 1|V|P|2|sig|n|5|act=blocked request=http://x/y?a\\=b&c=d msg=a b\\=c end",
		"CEF:x CEF:2|a=b|c", "CEF:0|a\\|b|c|d=e=f g", "k==v = =x", "CEF:0|||||||||k= v", "CEF:\t7|a|\nb|c=d\ne=f",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		m := cefRecord.FindStringSubmatchIndex(line)
		h, ext, ok := cefSplit(line)
		if ok != (m != nil) {
			t.Fatalf("match %v, regexp %v", ok, m != nil)
		}
		if !ok {
			return
		}
		if h != line[m[2]:m[3]] || ext != line[m[8]:m[9]] {
			t.Fatalf("header %q ext %q, regexp %q %q", h, ext, line[m[2]:m[3]], line[m[8]:m[9]])
		}
		var got []string
		cefPairs(ext, func(k, v string) { got = append(got, k+"="+v) })
		var want []string
		for _, kv := range cefExtension.FindAllStringSubmatch(ext, -1) {
			want = append(want, kv[1]+"="+kv[2])
		}
		if strings.Join(got, "\x00") != strings.Join(want, "\x00") {
			t.Fatalf("pairs of %q:\n got %q\nwant %q", ext, got, want)
		}
	})
}
