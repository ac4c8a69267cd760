package steps

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"weighin/internal/result"
)

// Item is one registered item: its name as given and its weight as the agent
// weighed it.
type Item struct {
	Name    string
	WeightG float64
}

// MatchOpts set how closely a step must weigh what it is matched to: within
// max(ToleranceG, TolerancePct % of the items' weight). verdict.Params'
// tolerance_g and tolerance_pct are the daemon's values (the carrier's label
// resolution plays no part here: items are weighed, not rounded).
type MatchOpts struct {
	ToleranceG   float64
	TolerancePct float64
}

// MaxItems is the longest item list Match takes (as verdict.MaxItems).
const MaxItems = 24

// maxStates bounds the matcher's search per step (see Match).
const maxStates = 1 << 14

// ErrMatch marks input Match refuses.
var ErrMatch = errors.New("steps: cannot match")

// Cost of a step in the assignment: a step no item explains costs 1; a
// matched step costs half its residual in tolerances (so always less than
// 1), plus pairCost when it takes two items, so that one item is preferred
// to two that weigh the same.
const (
	unmatchedCost = 1.0
	pairCost      = 0.02
	// ambiguityCost: half a tolerance of residual.
	ambiguityCost = 0.25 + 1e-9
)

// choice is a set of one or two items a step may move.
type choice struct {
	a, b   int // item indexes; b = -1 for one item
	weight float64
	tol    float64
}

func (c choice) mask() uint32 {
	m := uint32(1) << c.a
	if c.b >= 0 {
		m |= 1 << c.b
	}
	return m
}

// Match assigns the detected steps to the registered items and returns the
// steps with Items, ExpectedG, ResidualG and Ambiguous filled in, and the
// Matching (every field but Conclusive, Basis, Reason and
// ExpectedPackagingG, which the verdict decides).
//
// The assignment is a shortest path over the steps in time order, the
// state being which items are out of the parcel: a removal may take one
// item, or two together, that are still in; a step up may put back one or
// two that are out; any step may match nothing. Each choice is allowed only
// within tolerance. The cheapest whole path wins (see the costs above), not
// the best step at a time: a step of 1330 g then 505 g is Sneakers+Belt,
// then the jacket, even when the first step alone would fit another pair
// better. Nothing is taken out twice without being put back in between, and
// nothing is put back that was not out. The search keeps the maxStates
// cheapest states per step (2^14; a parcel of 24 items of which a handful
// come out never gets near it), so it is exact for any real unpacking.
//
// Without items every step stays unmatched and Matching.Items is empty.
func Match(det Detection, items []Item, o MatchOpts) ([]result.Step, result.Matching, error) {
	if len(items) > MaxItems {
		return nil, result.Matching{}, fmt.Errorf("%w: %d items, at most %d", ErrMatch, len(items), MaxItems)
	}
	if !finite(o.ToleranceG) || o.ToleranceG < 0 || !finite(o.TolerancePct) || o.TolerancePct < 0 || o.TolerancePct > 50 {
		return nil, result.Matching{}, fmt.Errorf("%w: tolerance %v g, %v %%", ErrMatch, o.ToleranceG, o.TolerancePct)
	}
	for i, it := range items {
		if strings.TrimSpace(it.Name) == "" || !finite(it.WeightG) || it.WeightG <= 0 {
			return nil, result.Matching{}, fmt.Errorf("%w: items[%d] %q weighs %v g", ErrMatch, i, it.Name, it.WeightG)
		}
	}
	var choices []choice
	tol := func(w float64) float64 { return math.Max(o.ToleranceG, o.TolerancePct/100*w) }
	for a := range items {
		choices = append(choices, choice{a: a, b: -1, weight: items[a].WeightG, tol: tol(items[a].WeightG)})
	}
	for a := range items {
		for b := a + 1; b < len(items); b++ {
			w := items[a].WeightG + items[b].WeightG
			choices = append(choices, choice{a: a, b: b, weight: w, tol: tol(w)})
		}
	}
	steps := slices.Clone(det.Steps)
	for i := range steps {
		steps[i].Items = []string{}
	}

	fits := make([][]int, len(steps)) // per step, the choices within tolerance
	for k, st := range steps {
		for ci, c := range choices {
			if math.Abs(math.Abs(st.DeltaG)-c.weight) <= c.tol {
				fits[k] = append(fits[k], ci)
			}
		}
	}
	picks, best := solve(steps, choices, fits)
	m := result.Matching{
		StartG: det.StartG, EndG: det.EndG, EndedSettled: det.EndedSettled,
		Items: []result.ItemSeen{}, NeverSeen: []string{},
	}
	for _, it := range items {
		m.Items = append(m.Items, result.ItemSeen{Name: it.Name, WeightG: it.WeightG, State: result.ItemNeverSeen})
	}
	matchedDelta := 0.0
	for k := range steps {
		if picks[k] < 0 {
			continue
		}
		c := choices[picks[k]]
		st := &steps[k]
		idx := []int{c.a}
		if c.b >= 0 {
			idx = append(idx, c.b)
		}
		for _, i := range idx {
			st.Items = append(st.Items, items[i].Name)
			seen := &m.Items[i]
			seen.State = result.ItemTakenOut
			if st.Kind == result.StepAdded {
				seen.State = result.ItemPutBack
			}
			ts := st.TS
			seen.TS = &ts
			seen.MeasuredG = nil
			if len(idx) == 1 {
				g := math.Abs(st.DeltaG)
				seen.MeasuredG = &g
			}
		}
		st.ExpectedG = round1(c.weight)
		st.ResidualG = round1(math.Abs(st.DeltaG) - c.weight)
		matchedDelta += st.DeltaG
		// Ambiguous: forcing another item (or pair) here costs the whole
		// assignment no more than half a tolerance of residual.
		for _, ai := range fits[k] {
			if ai == picks[k] || sameNames(items, choices[ai], c) {
				continue
			}
			forced := slices.Clone(fits)
			forced[k] = []int{ai}
			if _, alt := solveForced(steps, choices, forced, k); alt-best <= ambiguityCost {
				st.Ambiguous = true
				break
			}
		}
	}
	for _, s := range m.Items {
		if s.State == result.ItemNeverSeen {
			m.NeverSeen = append(m.NeverSeen, s.Name)
		}
	}
	m.PackagingG = round1(det.StartG + matchedDelta)
	return steps, m, nil
}

// sameNames reports whether two choices move items of the same names and
// weights (duplicates in the list): picking one or the other is no
// ambiguity.
func sameNames(items []Item, x, y choice) bool {
	key := func(c choice) [2]Item {
		k := [2]Item{items[c.a]}
		if c.b >= 0 {
			k[1] = items[c.b]
			if k[1].Name < k[0].Name {
				k[0], k[1] = k[1], k[0]
			}
		}
		return k
	}
	return key(x) == key(y)
}

func sortedKeys[V any](m map[uint32]V) []uint32 {
	ks := make([]uint32, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// Locate fills in each step's File and Frame from a function that names
// the video frame at a video time (the recorder's frame index); ok false
// leaves Frame at -1.
func Locate(steps []result.Step, at func(t float64) (file string, frame int64, ok bool)) {
	for i := range steps {
		if f, n, ok := at(steps[i].TS); ok {
			steps[i].File, steps[i].Frame = f, n
		}
	}
}

// solve finds the cheapest assignment: per step the choice (an index into
// choices, -1 for none), and the total cost.
func solve(steps []result.Step, choices []choice, fits [][]int) ([]int, float64) {
	return solveForced(steps, choices, fits, -1)
}

// solveForced is solve with step forced (>= 0) taking only fits[forced],
// never nothing.
func solveForced(steps []result.Step, choices []choice, fits [][]int, forced int) ([]int, float64) {
	// Dynamic programming over the steps; layer k maps a state (the items
	// out) to the cheapest path there.
	type node struct {
		cost float64
		prev uint32 // state before this step
		pick int    // index into choices, -1 for none
	}
	layers := make([]map[uint32]node, len(steps)+1)
	layers[0] = map[uint32]node{0: {pick: -1}}
	for k, st := range steps {
		next := map[uint32]node{}
		relax := func(state uint32, n node) {
			if old, ok := next[state]; !ok || n.cost < old.cost-1e-12 {
				next[state] = n
			}
		}
		for _, state := range sortedKeys(layers[k]) {
			cur := layers[k][state]
			if k != forced {
				relax(state, node{cost: cur.cost + unmatchedCost, prev: state, pick: -1})
			}
			for _, ci := range fits[k] {
				c := choices[ci]
				m := c.mask()
				var to uint32
				if st.Kind == result.StepRemoved {
					if state&m != 0 {
						continue // one of them is already out
					}
					to = state | m
				} else {
					if state&m != m {
						continue // not out, cannot be put back
					}
					to = state &^ m
				}
				cost := 0.5 * math.Abs(math.Abs(st.DeltaG)-c.weight) / math.Max(c.tol, 1e-9)
				if c.b >= 0 {
					cost += pairCost
				}
				relax(to, node{cost: cur.cost + cost, prev: state, pick: ci})
			}
		}
		if len(next) > maxStates {
			keys := sortedKeys(next)
			slices.SortStableFunc(keys, func(x, y uint32) int { return cmpFloat(next[x].cost, next[y].cost) })
			for _, s := range keys[maxStates:] {
				delete(next, s)
			}
		}
		if len(next) == 0 {
			return nil, math.Inf(1) // the forced choice is impossible
		}
		layers[k+1] = next
	}
	// The cheapest end state, ties to the smallest mask (fewest, earliest
	// items out).
	var end uint32
	best := math.Inf(1)
	for _, s := range sortedKeys(layers[len(steps)]) {
		if c := layers[len(steps)][s].cost; c < best-1e-12 {
			best, end = c, s
		}
	}
	picks := make([]int, len(steps))
	for k, s := len(steps)-1, end; k >= 0; k-- {
		n := layers[k+1][s]
		picks[k] = n.pick
		s = n.prev
	}
	return picks, best
}
