package doc

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// The fast paths (known-plain strings, the hashed root index with its
// memo, root members hashed once while parsing) must not change what a
// document holds or how it encodes. A slow Doc (Doc.slow: no root index,
// no plain marks) is the reference: the same input and the same edits go
// to both, and every output must match. Both allocate nodes in the same
// order, so a Node picked by number names the same node in each.

// newSlow returns an empty Doc that takes the slow path.
func newSlow() *Doc {
	d := New()
	d.slow = true
	return d
}

var diffKeys = []string{"a", "b", "@message", "", "-", "0", "1", "é", "k\"q", "tab\tkey", "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "event", "source", "ip", "\x7f", "\xff"}

var diffVals = []string{"", "-", "null", "[]", "v", "é", "x\"y", "a\\b", "\x01", "plain value of some length", "\xffbad", "0123456789abcdef0123456789"}

var diffPathText = []string{"a", "a.b", "b.a", "a.0", "a.0.b", "@message", "event", "event.ip", "0.1", "0.1.0.2", "k\"q.a",
	"a.a.a", "b", "b.c", "-", "", "é.é", "source.ip", "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "a.b.c.d"}

var diffPaths = func() (p []Path) {
	for _, s := range diffPathText {
		p = append(p, ParsePath(s))
	}
	return
}()

// twin applies each edit to both documents.
type twin struct {
	n *Doc
	r *Doc
}

func (tw twin) check(t *testing.T, step string) (size int) {
	t.Helper()
	for i := range tw.r.nodes {
		if len(tw.r.rootIdx) != 0 || tw.r.nodes[i].kplain || tw.r.nodes[i].vplain {
			t.Fatalf("%s: the slow Doc took a fast path (root index or plain mark)", step)
		}
	}
	got, gt := tw.n.AppendEncode(nil)
	want, wt := tw.r.AppendEncode(nil)
	if !bytes.Equal(got, want) || gt != wt {
		t.Fatalf("%s: Encode\n got %q %v\nwant %q %v", step, got, gt, want, wt)
	}
	if g, w := tw.n.AppendValueJSON(nil, tw.n.Root()), tw.r.AppendValueJSON(nil, tw.r.Root()); !bytes.Equal(g, w) {
		t.Fatalf("%s: AppendValueJSON\n got %q\nwant %q", step, g, w)
	}
	if g, w := tw.n.AppendJSON(nil), tw.r.AppendJSON(nil); !bytes.Equal(g, w) {
		t.Fatalf("%s: AppendJSON\n got %q\nwant %q", step, g, w)
	}
	if g, w := tw.n.AppendPyRepr(nil, tw.n.Root()), tw.r.AppendPyRepr(nil, tw.r.Root()); !bytes.Equal(g, w) {
		t.Fatalf("%s: AppendPyRepr\n got %q\nwant %q", step, g, w)
	}
	if tw.n.NodeCount() != tw.r.NodeCount() {
		t.Fatalf("%s: %d nodes, reference %d", step, tw.n.NodeCount(), tw.r.NodeCount())
	}
	for _, k := range diffKeys {
		if g, w := tw.n.Child(tw.n.Root(), k), tw.r.Child(tw.r.Root(), k); int(g) != int(w) {
			t.Fatalf("%s: Child(root, %q) = %d, reference %d", step, k, g, w)
		}
	}
	for i := range diffPaths {
		if g, w := tw.n.Find(diffPaths[i]), tw.r.Find(diffPaths[i]); int(g) != int(w) {
			t.Fatalf("%s: Find(%s) = %d, reference %d", step, diffPaths[i], g, w)
		}
	}
	return len(want)
}

// within reports whether n is anc or inside it: copying anc into n would
// copy forever (in both implementations), so such edits are skipped.
func within(d *Doc, anc, n Node) bool {
	if anc == n {
		return true
	}
	for c := d.First(anc); c != Nil; c = d.Next(c) {
		if within(d, c, n) {
			return true
		}
	}
	return false
}

// edit applies the edit coded by op and args to both documents.
func (tw twin) edit(t *testing.T, op byte, a, b, c byte, big bool) string {
	d, r := tw.n, tw.r
	cnt := d.NodeCount() + 1
	node := func(x byte) (Node, Node) { n := int(x) % cnt; return Node(n), Node(n) }
	// an object node to edit (the root when the pick is not an object)
	obj := func(x byte) (Node, Node) {
		n, rn := node(x)
		if d.Kind(n) != Object {
			return d.Root(), r.Root()
		}
		return n, rn
	}
	arr := func(x byte) (Node, Node, bool) {
		n, rn := node(x)
		return n, rn, d.Kind(n) == Array
	}
	key := diffKeys[int(b)%len(diffKeys)]
	val := diffVals[int(c)%len(diffVals)]
	if big {
		val = strings.Repeat("é"+val, 40000/(len(val)+2)+1)
	}
	o, ro := obj(a)
	op %= 24
	if op >= 16 && op <= 20 && d.Child(o, key) != Nil {
		return "skip" // Add* require a new key
	}
	switch op {
	case 0:
		d.SetString(o, key, val)
		r.SetString(ro, key, val)
	case 1:
		d.SetStringBytes(o, key, []byte(val))
		r.SetStringBytes(ro, key, []byte(val))
	case 2:
		d.SetNumber(o, key, []byte(fmt.Sprint(int(c)-100)))
		r.SetNumber(ro, key, []byte(fmt.Sprint(int(c)-100)))
	case 3:
		d.SetBool(o, key, c&1 == 0)
		r.SetBool(ro, key, c&1 == 0)
	case 4:
		d.SetNull(o, key)
		r.SetNull(ro, key)
	case 5:
		d.SetObject(o, key)
		r.SetObject(ro, key)
	case 6:
		d.SetArray(o, key)
		r.SetArray(ro, key)
	case 7:
		s, rs := node(c)
		if within(d, s, o) || d.Kind(s) == Invalid {
			return "skip"
		}
		d.SetCopy(o, key, s)
		r.SetCopy(ro, key, rs)
	case 8:
		n, rn := node(a)
		if n == d.Root() || d.Kind(n) == Invalid {
			return "skip"
		}
		d.ReplaceString(n, val)
		r.ReplaceString(rn, val)
	case 9:
		n, rn := node(a)
		if n == d.Root() || d.Kind(n) == Invalid {
			return "skip"
		}
		d.ReplaceStringBytes(n, []byte(val))
		r.ReplaceStringBytes(rn, []byte(val))
	case 10:
		d.Delete(o, key)
		r.Delete(ro, key)
	case 11: // merge a fresh object holding key: val and key.key2: val
		src, rsrc := d.NewObject(), r.NewObject()
		d.SetString(src, key, val)
		r.SetString(rsrc, key, val)
		k2 := diffKeys[int(c)%len(diffKeys)]
		d.SetString(d.SetObject(src, k2), key, val)
		r.SetString(r.SetObject(rsrc, k2), key, val)
		d.Merge(o, src)
		r.Merge(ro, rsrc)
	case 12:
		if n, rn, ok := arr(a); ok {
			d.AppendString(n, val)
			r.AppendString(rn, val)
		}
	case 13:
		if n, rn, ok := arr(a); ok {
			d.AppendStringBytes(n, []byte(val))
			r.AppendStringBytes(rn, []byte(val))
		}
	case 14:
		if n, rn, ok := arr(a); ok {
			s, rs := node(c)
			if d.Kind(s) == Invalid || within(d, s, n) {
				return "skip"
			}
			d.AppendCopy(n, s)
			r.AppendCopy(rn, rs)
		}
	case 15:
		if n, rn, ok := arr(a); ok {
			d.SetString(d.AppendObject(n), key, val)
			r.SetString(r.AppendObject(rn), key, val)
		}
	case 16:
		d.AddStringBytes(o, key, []byte(val))
		r.AddStringBytes(ro, key, []byte(val))
	case 17:
		d.AddObject(o, key)
		r.AddObject(ro, key)
	case 18:
		s, rs := node(c)
		if within(d, s, o) || d.Kind(s) == Invalid {
			return "skip"
		}
		d.AddCopy(o, key, s)
		r.AddCopy(ro, key, rs)
	case 19:
		d.AddArray(o, key)
		r.AddArray(ro, key)
	case 20:
		d.AddNull(o, key)
		r.AddNull(ro, key)
	case 21:
		raw := []byte(fmt.Sprintf(`{"x":%q,"y":[%q,{"z":""}],"x":1}`, val, key))
		ge, re := d.ParseValue(o, key, raw), r.ParseValue(ro, key, raw)
		if (ge == nil) != (re == nil) {
			t.Fatalf("ParseValue: %v, reference %v", ge, re)
		}
	case 22: // move a fresh object in
		src, rsrc := d.NewObject(), r.NewObject()
		d.SetString(src, key, val)
		r.SetString(rsrc, key, val)
		d.Move(o, key, src)
		r.Move(ro, key, rsrc)
	case 23:
		n, rn := node(c)
		if n == d.Root() || d.Kind(n) == Invalid {
			return "skip"
		}
		s, rs := node(a)
		if d.Kind(s) == Invalid || within(d, s, n) || within(d, n, s) {
			return "skip"
		}
		d.Replace(n, s)
		r.Replace(rn, rs)
	}
	return fmt.Sprintf("op %d(%d,%q,%q,big=%v)", op, a, key, val, big)
}

func runTwin(t *testing.T, raw, ops []byte) {
	tw := twin{New(), newSlow()}
	ge, re := tw.n.ParseObject(raw), tw.r.ParseObject(raw)
	if errText(ge) != errText(re) {
		t.Fatalf("ParseObject(%q): %v, reference %v", raw, ge, re)
	}
	if ge != nil {
		tw.n.Reset()
		tw.r.Reset()
	}
	size := tw.check(t, "parse")
	bigs := 0
	// copies double a document quickly: stop at 4000 nodes or 256 KB
	for len(ops) >= 4 && tw.n.NodeCount() < 4000 && size < 256<<10 {
		// at most two big strings: they make every later check slow
		big := ops[0]&0x80 != 0 && ops[3]&0x80 != 0 && bigs < 2
		if big {
			bigs++
		}
		step := tw.edit(t, ops[0]&0x7f, ops[1], ops[2], ops[3]&0x7f, big)
		size = tw.check(t, step)
		ops = ops[4:]
	}
}

func errText(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

var diffDocs = []string{
	`{}`,
	`{"a":"v","b":{"c":"-","d":["", "x"],"e":{}},"@message":"m","n":1.5,"t":true,"z":null}`,
	`{"k\u00e9y":"v\"q","a":[1,{"b":"null"},[]],"a":{"x":"\u0001"},"dup":1,"dup":2}`,
	`{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","userName":"bob"},"sourceIPAddress":"8.8.8.8","requestParameters":{"bucketName":"b","key":"k"},"responseElements":null,"readOnly":true}`,
	"{\"\xff\":\"\xfe\",\"a\x7f\":\"b\x7f\",\"é\":[\"é\",\"\\ud83d\\ude00\"]}",
	`{"0":{"1":[{"2":"x"}]},"ABCDEFGHIJKLMNOPQRSTUVWXYZ":"abcdefghijklmnopqrstuvwxyz0123456789"}`,
	manyRootKeys(70), // the root index grows twice while parsing (rehashed from its old slots)
}

// manyRootKeys is an object of n root members, some of them diffKeys (so
// the edits delete and look them up in a grown index).
func manyRootKeys(n int) string {
	var b strings.Builder
	b.WriteString(`{"a":1,"event":{"x":"y"}`)
	for i := range n {
		fmt.Fprintf(&b, `,"k%d":%d`, i, i)
	}
	b.WriteString(`,"source":"s","ip":"1.2.3.4"}`)
	return b.String()
}

func TestFastPathsMatchReference(t *testing.T) {
	for _, raw := range diffDocs {
		// every single edit with a spread of arguments, on every document
		for op := byte(0); op < 24; op++ {
			for a := byte(0); a < 12; a += 3 {
				for b := byte(0); b < byte(len(diffKeys)); b += 3 {
					for c := byte(0); c < byte(len(diffVals)); c += 2 {
						runTwin(t, []byte(raw), []byte{op, a, b, c, op + 1, c, a, b, op + 11, b, c, a})
					}
				}
			}
		}
		runTwin(t, []byte(raw), []byte{0x80, 0, 2, 0x81, 1, 0, 2, 1}) // a big @message and a big field
		runTwin(t, []byte(raw), setThenDelete())
	}
}

// setThenDelete sets every key of diffKeys on the root, then deletes them
// one by one: keys whose hashes share a probe chain of the root index are
// looked up past a deleted slot.
func setThenDelete() (ops []byte) {
	for k := range diffKeys {
		ops = append(ops, 0, 0, byte(k), 4)
	}
	for k := range diffKeys {
		ops = append(ops, 10, 0, byte(k), 0)
	}
	return ops
}

func FuzzFastPathsMatchReference(f *testing.F) {
	for i, raw := range diffDocs {
		f.Add([]byte(raw), []byte{byte(i), 1, 2, 3, 7, 0, 4, 2, 11, 3, 3, 3, 0x80, 5, 1, 0x80})
	}
	f.Add([]byte(diffDocs[0]), setThenDelete())
	f.Fuzz(func(t *testing.T, raw, ops []byte) {
		if len(ops) > 160 {
			ops = ops[:160]
		}
		runTwin(t, raw, ops)
	})
}
