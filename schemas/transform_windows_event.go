package schemas

import (
	_ "embed"
	"strings"
	"sync"

	"github.com/siemstream/siemstream/internal/doc"
)

// Go transform of the windows-event log type, shared with directory-service
// and fsx-win (es-loader's sf_windows_event.py, sf_directory_service.py,
// sf_fsx_win.py).

func init() {
	RegisterTransform("windows_event", transformWindowsEvent)
	RegisterTransform("directory_service", transformWindowsEvent)
	RegisterTransform("fsx_win", transformWindowsEvent)
}

// transformWindowsEvent: event.action and event.outcome from the event ID
// (data/windows-event-ids.txt), and cloud.instance.id from an EC2 instance
// id in the log stream name.
func transformWindowsEvent(tc *TransformContext) error {
	d := tc.Doc
	root := d.Root()
	w := d.NewObject()
	if id := d.Find(eventIDPath); id != doc.Nil && d.Kind(id) == doc.String {
		if a, ok := windowsEventIDs()[string(d.Bytes(id))]; ok {
			ev := d.SetObject(w, "event")
			if a.action != "" {
				d.SetString(ev, "action", a.action)
			}
			if a.outcome != "" {
				d.SetString(ev, "outcome", a.outcome)
			}
		}
	}
	if id := instanceIDFromText(strOr(d, root, "@log_stream")); id != "" {
		d.SetString(d.SetObject(d.SetObject(w, "cloud"), "instance"), "id", id)
	}
	if d.First(w) != doc.Nil {
		d.Merge(root, w)
	}
	return nil
}

var eventIDPath = doc.ParsePath("Event.System.EventID")

//go:embed data/windows-event-ids.txt
var windowsEventIDsText string

type winAction struct{ action, outcome string }

// windowsEventIDs parses the table once, on first use.
var windowsEventIDs = sync.OnceValue(func() map[string]winAction {
	m := map[string]winAction{}
	for line := range strings.Lines(windowsEventIDsText) {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		if len(f) != 3 {
			panic("schemas/data/windows-event-ids.txt: want <id> <action> <outcome>: " + line)
		}
		m[f[0]] = winAction{f[1], f[2]}
	}
	return m
})
