package templates

import (
	"encoding/json"
	"io/fs"
	"strings"
	"testing"
)

func TestParseComponent(t *testing.T) {
	text := `# comment
[template]
description = test component

[settings]
index.number_of_shards = 3
index.mapping.ignore_malformed = true
index.refresh_interval = 30s

[dynamic]
strings  string  keyword

[fields]
@timestamp        date
source            object
source.ip         ip
source.geo.location  geo_point
url.original      keyword  +text
when              date  format="MMM d, yyyy[,] h:mm:ss a"
blob              keyword  doc_values=false ignore_above=256
threat.enrichments  nested
    indicator.ip  ip
    matched       object
        atomic    keyword
ocsf              object  properties=endpoint
    extra         long

[object endpoint]
ip        ip
location  object  properties=geo

[object geo]
lat  float
`
	c, err := parseComponent("t", text)
	if err != nil {
		t.Fatal(err)
	}
	m, err := c.mappings()
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(map[string]any{"settings": settingsMap(c.Settings), "mappings": m})
	want := `{"mappings":{"dynamic_templates":[{"strings":{"mapping":{"type":"keyword"},"match_mapping_type":"string"}}],` +
		`"properties":{"@timestamp":{"type":"date"},"blob":{"doc_values":false,"ignore_above":256,"type":"keyword"},` +
		`"ocsf":{"properties":{"extra":{"type":"long"},"ip":{"type":"ip"},"location":{"properties":{"lat":{"type":"float"}},"type":"object"}},"type":"object"},` +
		`"source":{"properties":{"geo":{"properties":{"location":{"type":"geo_point"}}},"ip":{"type":"ip"}},"type":"object"},` +
		`"threat":{"properties":{"enrichments":{"properties":{"indicator":{"properties":{"ip":{"type":"ip"}}},"matched":{"properties":{"atomic":{"type":"keyword"}},"type":"object"}},"type":"nested"}}},` +
		`"url":{"properties":{"original":{"fields":{"text":{"type":"text"}},"type":"keyword"}}},` +
		`"when":{"format":"MMM d, yyyy[,] h:mm:ss a","type":"date"}}},` +
		`"settings":{"index.mapping.ignore_malformed":true,"index.number_of_shards":3,"index.refresh_interval":"30s"}}`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestParseComponentErrors(t *testing.T) {
	head := "[template]\ndescription = x\n[fields]\n"
	cases := map[string]string{
		"no description":     "[fields]\na keyword\n",
		"unknown type":       head + "a strng\n",
		"unknown attribute":  head + "a keyword colour=red\n",
		"bad bool":           head + "a keyword doc_values=maybe\n",
		"bad int":            head + "a keyword ignore_above=-1\n",
		"leaf then child":    head + "a keyword\na.b long\n",
		"twice":              head + "a keyword\na keyword\n",
		"child then leaf":    head + "a.b keyword\na long\n",
		"missing object":     head + "a object properties=nope\n",
		"self reference":     head + "a object properties=x\n[object x]\nb object properties=x\n",
		"properties on leaf": head + "a keyword properties=x\n[object x]\nb long\n",
		"unterminated quote": head + "a date format=\"x\n",
		"bad section":        "[template]\ndescription = x\n[mappings]\n",
		"outside section":    "a keyword\n",
		"non-index setting":  "[template]\ndescription = x\n[settings]\nnumber_of_shards = 1\n",
		"empty segment":      head + "a..b keyword\n",
		"bad multi-field":    head + "a keyword +x=object\n",
		"bad dynamic":        "[template]\ndescription = x\n[dynamic]\nstrings string\n",
	}
	for name, text := range cases {
		if _, err := parseComponent("t", text); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestDataFiles loads every embedded data file (a broken one fails here
// rather than at consumer start).
func TestDataFiles(t *testing.T) {
	d, err := loadData()
	if err != nil {
		t.Fatal(err)
	}
	base := d.components["log"]
	if base == nil {
		t.Fatal("no log component")
	}
	m, _ := base.mappings()
	types := map[string]string{}
	flatten(m["properties"].(map[string]any), "", types)
	for path, want := range map[string]string{
		"@timestamp": "date", "@message": "text", "@log_type": "keyword",
		"source.ip": "ip", "destination.ip": "ip", "related.ip": "ip", "client.ip": "",
		"source.geo.location": "geo_point", "destination.geo.location": "geo_point",
		"event.ingested": "date", "event.category": "keyword", "network.bytes": "long",
		"threat.enrichments": "nested", "threat.enrichments.indicator.ip": "ip",
		"url.original": "keyword", "user_agent.original": "keyword",
	} {
		if types[path] != want {
			t.Errorf("log: %s is %q, want %q", path, types[path], want)
		}
	}
}

// flatten maps dotted paths to types (objects included).
func flatten(props map[string]any, prefix string, out map[string]string) {
	for k, v := range props {
		spec := v.(map[string]any)
		p := prefix + k
		if t, ok := spec["type"].(string); ok {
			out[p] = t
		}
		if sub, ok := spec["properties"].(map[string]any); ok {
			flatten(sub, p+".", out)
		}
	}
}

func FuzzParseComponent(f *testing.F) {
	names, _ := fs.Glob(dataFS, "data/components/*.mapping")
	for _, n := range names {
		b, _ := dataFS.ReadFile(n)
		if len(b) < 4000 {
			f.Add(string(b))
		}
	}
	f.Add("[template]\ndescription = x\n[fields]\na object properties=o\n  b nested\n    c keyword +text\n[object o]\nd date format=\"a b\"\n")
	f.Fuzz(func(t *testing.T, text string) {
		c, err := parseComponent("fuzz", text)
		if err != nil {
			return
		}
		m, err := c.mappings()
		if err != nil {
			t.Fatalf("parsed but does not render: %v", err)
		}
		if _, err := json.Marshal(m); err != nil {
			t.Fatal(err)
		}
	})
}

func FuzzParseFamilies(f *testing.F) {
	b, _ := dataFS.ReadFile("data/indices.conf")
	f.Add(string(b))
	f.Add("[a]\ncomponents = log\npriority = 1\ncatchall = true\n")
	f.Fuzz(func(t *testing.T, text string) {
		fams, err := parseFamilies(text)
		if err != nil {
			return
		}
		for _, fam := range fams {
			if len(fam.Components) == 0 || strings.ContainsAny(fam.Name, "*, ") {
				t.Fatalf("accepted family %+v", fam)
			}
		}
	})
}
