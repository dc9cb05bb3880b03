package normalize

import (
	"strings"
	"sync"

	"github.com/siemstream/siemstream/internal/doc"
	"github.com/siemstream/siemstream/schemas"
)

// ecsPlan lets mapECS append ECS targets to the fresh ECS object without
// looking keys up, when the configuration guarantees that no two targets
// collide: all targets distinct and none a prefix of another. Intermediate
// objects ("source" for source.ip) are created once per document and their
// nodes remembered.
type ecsPlan struct {
	fast bool
	// per ECS entry: index of its parent object in objs (-1: the ECS root)
	parent []int
	leaf   []string
	objs   []planObj
}

type planObj struct {
	parent int // -1: ECS root
	key    string
}

var plans sync.Map // *schemas.LogType -> *ecsPlan

func planFor(lt *schemas.LogType) *ecsPlan {
	if p, ok := plans.Load(lt); ok {
		return p.(*ecsPlan)
	}
	p := buildPlan(lt)
	plans.Store(lt, p)
	return p
}

func buildPlan(lt *schemas.LogType) *ecsPlan {
	p := &ecsPlan{fast: true}
	seen := map[string]bool{}
	for _, f := range lt.ECS {
		seen[f.Target] = true
	}
	if len(seen) != len(lt.ECS) {
		p.fast = false
		return p
	}
	for _, f := range lt.ECS {
		for other := range seen {
			if other != f.Target && strings.HasPrefix(other, f.Target+".") {
				p.fast = false
				return p
			}
		}
		// "ecs" and "cloud.provider" are written before the mappings
		if f.Target == "ecs" || strings.HasPrefix(f.Target, "ecs.") || f.Target == "cloud" || f.Target == "cloud.provider" {
			p.fast = false
			return p
		}
	}
	index := map[string]int{}
	var objIdx func(path []string) int
	objIdx = func(path []string) int {
		if len(path) == 0 {
			return -1
		}
		k := strings.Join(path, ".")
		if i, ok := index[k]; ok {
			return i
		}
		parent := objIdx(path[:len(path)-1])
		p.objs = append(p.objs, planObj{parent: parent, key: path[len(path)-1]})
		index[k] = len(p.objs) - 1
		return len(p.objs) - 1
	}
	for _, f := range lt.ECS {
		segs := strings.Split(f.Target, ".")
		p.parent = append(p.parent, objIdx(segs[:len(segs)-1]))
		p.leaf = append(p.leaf, segs[len(segs)-1])
	}
	return p
}

// objNode returns (creating if needed) intermediate object i under E.
func (p *ecsPlan) objNode(d *doc.Doc, E doc.Node, nodes []doc.Node, i int) doc.Node {
	if i < 0 {
		return E
	}
	if nodes[i] != doc.Nil {
		return nodes[i]
	}
	parent := p.objNode(d, E, nodes, p.objs[i].parent)
	var n doc.Node
	if parent == E && p.objs[i].parent < 0 {
		// E may already hold it (cloud is created before the mappings)
		n = d.SetObject(E, p.objs[i].key)
	} else {
		n = d.AddObject(parent, p.objs[i].key)
	}
	nodes[i] = n
	return n
}
