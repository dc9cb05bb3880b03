package metrics

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/siemstream/siemstream/internal/obs"
	"github.com/siemstream/siemstream/internal/reload"
	"github.com/siemstream/siemstream/stages/chain"
)

// touch gives every labelled metric one child, so a Gather lists every
// family (vectors without children are not exported).
func (m *Metrics) touch() {
	m.objects.WithLabelValues("", "")
	m.objectBytes.WithLabelValues("")
	m.objectDuration.WithLabelValues("")
	m.visibility.WithLabelValues("")
	m.putEntries.WithLabelValues("")
	m.putRequests.WithLabelValues("")
	m.shardRecordsOut.WithLabelValues("")
	m.shardBytesOut.WithLabelValues("")
	m.getRecords.WithLabelValues("")
	m.awsRequests.WithLabelValues("", "")
	m.leaseEvents.WithLabelValues("")
	m.bulkRequests.WithLabelValues("")
	m.bulkItems.WithLabelValues("")
	m.deadLetters.WithLabelValues("")
	m.bulkLimitCuts.WithLabelValues("")
	m.inputBytes.WithLabelValues("")
	m.outputBytes.WithLabelValues("")
	m.deliverSeconds.WithLabelValues("")
	c := obs.NewRegistry()
	c.Add("t", obs.Counts{Events: 1})
	m.RegisterCounts(c)
	m.RegisterPipeline(func() chain.Stats {
		return chain.Stats{Counted: map[string]uint64{"t": 1}, Reloads: []reload.Status{{Name: "s", LoadedAt: time.Now()}},
			Lookups: []chain.Lookups{{Stage: "s"}}, Stages: []chain.StageCount{{Stage: "s", Outcome: "o"}}}
	})
	m.SetLeaseStatus(func() LeaseStatus { return LeaseStatus{Behind: map[string]int64{"s": 0}} })
	m.shards.checkpoint["s"] = time.Now()
}

// Row is one metric of the table.
type Row struct {
	Name, Type, Help string
	Labels           []string
}

// Catalog lists every siemstream_ metric a process can export, sorted by
// name (the Go runtime and process collectors' go_* and process_* are left
// out).
func Catalog() ([]Row, error) {
	m := New(Build{})
	m.touch()
	fams, err := m.Reg.Gather()
	if err != nil {
		return nil, err
	}
	var rows []Row
	for _, f := range fams {
		if !strings.HasPrefix(f.GetName(), Namespace+"_") {
			continue
		}
		r := Row{Name: f.GetName(), Type: strings.ToLower(f.GetType().String()), Help: f.GetHelp()}
		if len(f.GetMetric()) > 0 {
			for _, l := range f.GetMetric()[0].GetLabel() {
				r.Labels = append(r.Labels, l.GetName())
			}
		}
		rows = append(rows, r)
	}
	slices.SortFunc(rows, func(a, b Row) int { return strings.Compare(a.Name, b.Name) })
	return rows, nil
}

// WriteTable writes the catalog as the README's Markdown table (`siemstream
// metrics` prints it; a test keeps the README in step).
func WriteTable(w io.Writer) error {
	rows, err := Catalog()
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "| metric | type | labels | meaning |")
	fmt.Fprintln(w, "| --- | --- | --- | --- |")
	for _, r := range rows {
		fmt.Fprintf(w, "| `%s` | %s | %s | %s |\n", r.Name, r.Type, strings.Join(r.Labels, ", "), strings.ReplaceAll(r.Help, "|", "\\|"))
	}
	return nil
}
