package schemas

// Go transforms for Windows event XML types: windows-event,
// directory-service, fsx-win (es-loader's sf_windows_event,
// sf_directory_service, sf_fsx_win).
//
// Not done yet: es-loader also sets event.action and event.outcome from a
// table of Windows event IDs (siem/fileformat_winevtxml_eventid.tsv, 146
// IDs). That table is not part of siemstream yet, so those two fields are
// missing from these types' documents.

func init() {
	RegisterTransform("windows_event", transformWindowsEvent)
	RegisterTransform("directory_service", transformWindowsEvent)
	RegisterTransform("fsx_win", transformWindowsEvent)
}

// transformWindowsEvent: cloud.instance.id from an EC2 instance id in the
// log stream name.
func transformWindowsEvent(tc *TransformContext) error {
	d := tc.Doc
	root := d.Root()
	if id := instanceIDFromText(strOr(d, root, "@log_stream")); id != "" {
		w := d.NewObject()
		d.SetString(d.SetObject(d.SetObject(w, "cloud"), "instance"), "id", id)
		d.Merge(root, w)
	}
	return nil
}
