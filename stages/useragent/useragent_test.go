package useragent

import (
	"context"
	"testing"

	"github.com/siemstream/siemstream/internal/doc"
	"github.com/siemstream/siemstream/stages"
	"github.com/ua-parser/uap-go/uaparser"
)

func TestParse(t *testing.T) {
	p := uaparser.NewFromSaved()
	cases := []struct {
		in   string
		want Result
	}{
		{"aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64", Result{Name: "aws-cli", Version: "2.15.0", OSName: "Linux", OSFull: "Linux 6.1", OSVersion: "6.1", Device: "Other"}},
		{"s3.amazonaws.com", Result{Name: "s3.amazonaws.com", OSName: "Other", OSFull: "Other", Device: "Other"}},
		{"AWS Internal", Result{Name: "AWS Internal", OSName: "Other", OSFull: "Other", Device: "Other"}},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
			Result{Name: "Chrome", Version: "120.0.0", OSName: "Windows", OSFull: "Windows 10", OSVersion: "10", Device: "Other"}},
		{"curl/8.4.0", Result{Name: "curl", Version: "8.4.0", OSName: "Other", OSFull: "Other", Device: "Other"}},
	}
	for _, c := range cases {
		got := Parse(p, c.in)
		c.want.Original = c.in
		if *got != c.want {
			t.Errorf("%q:\n got %+v\nwant %+v", c.in, *got, c.want)
		}
	}
	if r := Parse(p, "Mozilla/5.0%20(X11)"); r.Original != "Mozilla/5.0 (X11)" {
		t.Errorf("%%20 not decoded: %q", r.Original)
	}
}

// TestStageFields: only the log types in Config.Fields are enriched, at
// their field; an empty field is a configuration error.
func TestStageFields(t *testing.T) {
	s, err := New(Config{Fields: map[string]string{"alb": "user_agent"}}, stages.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	b := &stages.Batch{}
	for _, lt := range []string{"alb", "vpcflowlogs"} {
		d := doc.Get()
		if err := d.ParseObject([]byte(`{"user_agent":{"original":"curl/8.4.0"}}`)); err != nil {
			t.Fatal(err)
		}
		b.Events = append(b.Events, stages.Event{Src: &stages.Source{LogType: lt}, Doc: d})
	}
	defer b.Reset()
	if err := s.Process(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{
		`{"user_agent":{"original":"curl/8.4.0","name":"curl","version":"8.4.0","os":{"name":"Other","full":"Other"},"device":{"name":"Other"}}}`,
		`{"user_agent":{"original":"curl/8.4.0"}}`,
	} {
		d := b.Events[i].Doc
		if got := string(d.AppendValueJSON(nil, d.Root())); got != want {
			t.Errorf("%s:\n got %s\nwant %s", b.Events[i].Src.LogType, got, want)
		}
	}
	if _, err := New(Config{Fields: map[string]string{"alb": ""}}, stages.Deps{}); err == nil {
		t.Error("empty field accepted")
	}
}

// TestMemoEqualsFresh: a batch (the last agent memoised from event to
// event) enriches every document as a batch of that event alone does.
func TestMemoEqualsFresh(t *testing.T) {
	s, err := New(Config{Fields: map[string]string{"alb": "user_agent", "cloudtrail": "ua"}}, stages.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	recs := []struct{ lt, rec string }{
		{"alb", `{"user_agent":{"original":"curl/8.4.0"}}`},
		{"alb", `{"user_agent":{"original":"curl/8.4.0"}}`},
		{"alb", `{"user_agent":{"original":["curl/8.4.0"]}}`},
		{"alb", `{"user_agent":{"original":"curl/8.4.0","name":"x"}}`},
		{"alb", `{"user_agent":{"original":"Mozilla/5.0%20(X11)"}}`},
		{"alb", `{"user_agent":{"original":"Mozilla/5.0%20(X11)"}}`},
		{"alb", `{"user_agent":{"original":"Mozilla/5.0 (X11)"}}`},
		{"cloudtrail", `{"ua":{"original":"Mozilla/5.0 (X11)"}}`},
		{"cloudtrail", `{"user_agent":{"original":"curl/8.4.0"}}`},
		{"cloudtrail", `{"ua":{"original":"-"}}`},
		{"cloudtrail", `{"ua":{"original":"s3.amazonaws.com"}}`},
		{"alb", `{"user_agent":{"original":"s3.amazonaws.com"}}`},
		{"alb", `{"user_agent":{"original":""}}`},
		{"alb", `{"user_agent":{"original":""}}`},
		{"alb", `{"user_agent":{"original":1}}`},
	}
	parse := func(lt, rec string) stages.Event {
		d := doc.Get()
		if err := d.ParseObject([]byte(rec)); err != nil {
			t.Fatal(err)
		}
		return stages.Event{Src: &stages.Source{LogType: lt}, Doc: d}
	}
	all := &stages.Batch{}
	for _, r := range recs {
		all.Events = append(all.Events, parse(r.lt, r.rec))
	}
	defer all.Reset()
	if err := s.Process(context.Background(), all); err != nil {
		t.Fatal(err)
	}
	for i, r := range recs {
		one := &stages.Batch{Events: []stages.Event{parse(r.lt, r.rec)}}
		if err := s.Process(context.Background(), one); err != nil {
			t.Fatal(err)
		}
		want := string(one.Events[0].Doc.AppendValueJSON(nil, 1))
		d := all.Events[i].Doc
		if got := string(d.AppendValueJSON(nil, d.Root())); got != want {
			t.Errorf("%d %s:\n got %s\nwant %s", i, r.rec, got, want)
		}
		one.Reset()
	}
	// a list's first agent and an unescaped agent replace the member
	js := func(i int) string { return string(all.Events[i].Doc.AppendValueJSON(nil, 1)) }
	if js(2) != js(0) {
		t.Errorf("list original: %s, want %s", js(2), js(0))
	}
	if js(4) != js(6) {
		t.Errorf("%%20 original: %s, want %s", js(4), js(6))
	}
}
