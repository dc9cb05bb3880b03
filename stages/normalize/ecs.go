package normalize

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/siemstream/siemstream/internal/doc"
	"github.com/siemstream/siemstream/internal/wire"
	"github.com/siemstream/siemstream/schemas"
)

// putECS sets path p (relative to obj) to v with put_value_into_nesteddict +
// merge_dicts semantics: numbers and booleans become their Python str(),
// an object merges into an existing object.
func (sc *scratch) putECS(d *doc.Doc, obj doc.Node, p doc.Path, v doc.Node) {
	parent, last := d.ParentAt(obj, p)
	sc.putAt(d, parent, last, v)
}

// putAt is putECS of parent's member last.
func (sc *scratch) putAt(d *doc.Doc, parent doc.Node, last string, v doc.Node) {
	switch d.Kind(v) {
	case doc.String, doc.Array:
		d.SetCopy(parent, last, v)
	case doc.Object:
		if ex := d.Child(parent, last); ex != doc.Nil && d.Kind(ex) == doc.Object {
			tmp := d.NewObject()
			d.Replace(tmp, v)
			d.Merge(ex, tmp)
			return
		}
		d.SetCopy(parent, last, v)
	default:
		sc.numBuf = d.AppendPyStr(sc.numBuf[:0], v)
		d.SetStringBytes(parent, last, sc.numBuf)
	}
}

// mapECS follows LogParser.transform_to_ecs.
func (s *Stage) mapECS(sc *scratch, lt *schemas.LogType, d *doc.Doc) error {
	root := d.Root()
	// what the record says about the cloud
	var csp, account1, region1 doc.Node
	cloud := d.Child(root, "cloud")
	if cloud != doc.Nil {
		if d.Kind(cloud) != doc.Object {
			return errors.New("field cloud is not an object")
		}
		csp = d.Child(cloud, "provider")
		if a := d.Child(cloud, "account"); a != doc.Nil {
			if d.Kind(a) != doc.Object {
				return errors.New("field cloud.account is not an object")
			}
			account1 = d.Child(a, "id")
		}
		region1 = d.Child(cloud, "region")
	}

	plan := planFor(lt)
	// direct: write the ECS fields into the record itself instead of a
	// detached object merged into it at the end. Equal to the merge when
	// no entry reads under a key the mapping writes (plan.direct), the
	// record has no cloud object (the cloud rules below read the ECS
	// cloud object apart from the record's) and no FireLens rule runs.
	// Objects the record already holds get merge semantics (objNode says
	// which are fresh); fresh ones are appended to without lookups.
	direct := plan.direct && !s.slowECS && !s.slowDirect && cloud == doc.Nil && sc.via.Via != wire.ViaFirelens
	E := root
	if !direct {
		E = d.NewObject()
	}
	ecs := d.SetObject(E, "ecs")
	d.SetString(ecs, "version", lt.ECSVersion)
	if (csp == doc.Nil || !d.Truthy(csp)) && lt.CloudProvider != "" {
		d.SetString(d.SetObject(E, "cloud"), "provider", lt.CloudProvider)
	}

	if plan.fast {
		sc.planNodes = append(sc.planNodes[:0], make([]doc.Node, len(plan.objs))...)
		sc.planOld = append(sc.planOld[:0], make([]bool, len(plan.objs))...)
	}
	src, st := &plan.src, &sc.src
	st.reset(len(src.ents))
	for i := range lt.ECS {
		f := &lt.ECS[i]
		if !f.List {
			var v doc.Node
			var ent int32
			if s.slowECS {
				v = firstValue(d, f.Alternatives)
			} else {
				v, ent = src.first(d, st, src.alts[i])
			}
			if v == doc.Nil {
				continue
			}
			k := d.Kind(v)
			if k == doc.String && f.ValidateIP {
				if s.slowECS && !validIP(d.Bytes(v)) || !s.slowECS && !st.validIP(d, ent, v) {
					continue
				}
			}
			if (k == doc.Object || k == doc.Array) && !d.Truthy(v) {
				continue
			}
			if plan.fast {
				parent, old := plan.objNode(d, E, sc, plan.parent[i], direct)
				if old { // an object of the record: merge semantics
					sc.putAt(d, parent, plan.leaf[i], v)
					continue
				}
				switch k {
				case doc.String, doc.Object, doc.Array:
					d.AddCopy(parent, plan.leaf[i], v)
				default:
					sc.numBuf = d.AppendPyStr(sc.numBuf[:0], v)
					d.AddStringBytes(parent, plan.leaf[i], sc.numBuf)
				}
				continue
			}
			sc.putECS(d, E, f.Path, v)
			continue
		}
		sc.list = sc.list[:0]
		for g, alts := range f.Groups {
			var v doc.Node
			var ent int32
			if s.slowECS {
				v = firstValue(d, alts)
			} else {
				v, ent = src.first(d, st, src.groups[i][g])
			}
			switch d.Kind(v) {
			case doc.String:
				if !f.ValidateIP || s.slowECS && validIP(d.Bytes(v)) || !s.slowECS && st.validIP(d, ent, v) {
					sc.list = append(sc.list, v)
				}
			case doc.Array:
				for el := d.First(v); el != doc.Nil; el = d.Next(el) {
					switch d.Kind(el) {
					case doc.Object, doc.Array:
						return fmt.Errorf("%s: list element is a %s (es-loader raises TypeError)", f.Target, d.Kind(el))
					case doc.String:
						if d.IsEmptyString(el) || (f.ValidateIP && !validIP(d.Bytes(el))) {
							continue
						}
					case doc.Null:
						if f.ValidateIP {
							return fmt.Errorf("%s: null list element (es-loader raises)", f.Target)
						}
						continue
					default:
						if !d.Truthy(el) {
							continue
						}
					}
					sc.list = append(sc.list, el)
				}
			}
		}
		if len(sc.list) == 0 {
			continue
		}
		if err := sortUnique(d, &sc.list); err != nil {
			return fmt.Errorf("%s: %w", f.Target, err)
		}
		var arr doc.Node
		if plan.fast {
			parent, old := plan.objNode(d, E, sc, plan.parent[i], direct)
			if old {
				arr = d.SetArray(parent, plan.leaf[i])
			} else {
				arr = d.AddArray(parent, plan.leaf[i])
			}
		} else {
			parent, last := d.ParentAt(E, f.Path)
			arr = d.SetArray(parent, last)
		}
		for _, v := range sc.list {
			d.AppendCopy(arr, v)
		}
	}

	isCloud := d.Child(E, "cloud") != doc.Nil || d.Child(root, "cloud") != doc.Nil
	if isCloud {
		cloud := d.SetObject(E, "cloud")
		accountID, regionID := sc.via.accountRegion(sc.si.accountID, sc.si.region)
		if account1 == doc.Nil || !d.Truthy(account1) {
			var account2 doc.Node
			if a := d.Child(cloud, "account"); d.Kind(a) == doc.Object {
				account2 = d.Child(a, "id")
			}
			switch {
			case account2 != doc.Nil && d.Truthy(account2):
				if d.Kind(account2) == doc.String && string(d.Bytes(account2)) == "unknown" {
					acc := d.SetObject(cloud, "account")
					d.Replace(acc, d.NewObject())
					if accountID != "" {
						d.SetString(acc, "id", accountID)
					}
				}
			case accountID != "":
				acc := d.SetObject(cloud, "account")
				d.Replace(acc, d.NewObject())
				d.SetString(acc, "id", accountID)
			default:
				acc := d.SetObject(cloud, "account")
				d.Replace(acc, d.NewObject())
				d.SetString(acc, "id", "unknown")
			}
		}
		if region1 == doc.Nil || !d.Truthy(region1) {
			switch {
			case d.Child(cloud, "region") != doc.Nil:
			case regionID != "":
				d.SetString(cloud, "region", regionID)
			default:
				d.SetString(cloud, "region", "unknown")
			}
		}
	}

	if err := sc.via.firelensECS(d, E); err != nil {
		return err
	}
	for i := range lt.StaticECS {
		f := &lt.StaticECS[i]
		parent, last := d.ParentAt(E, f.Path)
		if f.IsList {
			arr := d.SetArray(parent, last)
			for _, v := range f.Values {
				d.AppendString(arr, v)
			}
		} else {
			d.SetString(parent, last, f.Value)
		}
	}
	if !direct {
		d.Merge(root, E)
	}
	return nil
}

// sortUnique is sorted(set(list)) for strings (or numbers).
func sortUnique(d *doc.Doc, list *[]doc.Node) error {
	l := *list
	allStr, allNum := true, true
	for _, v := range l {
		switch d.Kind(v) {
		case doc.String:
			allNum = false
		case doc.Number:
			allStr = false
		default:
			allStr, allNum = false, false
		}
	}
	switch {
	case allStr:
		slices.SortStableFunc(l, func(a, b doc.Node) int { return bytes.Compare(d.Bytes(a), d.Bytes(b)) })
		out := l[:1]
		for _, v := range l[1:] {
			if string(d.Bytes(v)) != string(d.Bytes(out[len(out)-1])) {
				out = append(out, v)
			}
		}
		*list = out
	case allNum:
		f := func(n doc.Node) float64 { x, _ := strconv.ParseFloat(string(d.Bytes(n)), 64); return x }
		slices.SortStableFunc(l, func(a, b doc.Node) int { return cmp.Compare(f(a), f(b)) })
		out := l[:1]
		for _, v := range l[1:] {
			if f(v) != f(out[len(out)-1]) {
				out = append(out, v)
			}
		}
		*list = out
	default:
		return errors.New("list mixes strings and other types (es-loader cannot sort it)")
	}
	return nil
}

func addFieldPrefix(d *doc.Doc, prefix string, orig []string) {
	root := d.Root()
	p := d.Child(root, prefix)
	if p == doc.Nil || d.Kind(p) != doc.Object {
		p = d.SetObject(root, prefix)
		d.Replace(p, d.NewObject())
	}
	for _, k := range orig {
		if k == prefix {
			continue
		}
		v := d.Child(root, k)
		if v == doc.Nil {
			continue
		}
		d.SetCopy(p, k, v)
		d.Delete(root, k)
	}
}
