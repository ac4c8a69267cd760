package verdict

import (
	"cmp"
	"fmt"
	"math"
	"math/bits"
	"slices"

	"weighin/internal/result"
)

// MaxItems is the largest item list the inference accepts. The search is a
// meet-in-the-middle over two halves of at most 2^12 subset sums each: both
// halves are enumerated, one is sorted, and for each sum of the other the
// scan walks out from the best partner only while a pair can still enter
// the top MaxCandidates. It is exact (no subset is skipped unseen). Cost on
// the development machine (docs/perf-verdict.md): 20 varied items ≈ 0.2 ms,
// 24 varied items ≈ 0.4 ms; the worst case, 24 items of one weight (millions
// of tying subsets), ≈ 0.2 s. Longer lists are refused with ErrTooManyItems
// rather than answered approximately: merge small items into one entry.
const MaxItems = 24

// MaxCandidates is the longest list of missing-item candidates returned.
const MaxCandidates = 5

// candidate is one subset, as a bitmask over the item list.
type candidate struct {
	mask  uint32
	n     int     // number of items
	total float64 // sum of the weights in list order
	res   float64 // deficit − total
}

// better orders candidates: smaller |residual|, then fewer items, then the
// items listed earlier (smaller mask) — a cheap, total, stable order.
func better(a, b *candidate) bool {
	if x, y := math.Abs(a.res), math.Abs(b.res); x != y {
		return x < y
	}
	if a.n != b.n {
		return a.n < b.n
	}
	return a.mask < b.mask
}

// Infer returns the sets of whole items whose weights explain a deficit of
// deficitG within the tolerance band — every set whose total lies in
// [deficit − r − t, deficit + t] — best first, at most MaxCandidates. The
// residual of a set is deficit − total (positive: more is missing than the
// set weighs). Sets made of the same names and weights are reported once;
// ties go to fewer items, then to items listed earlier.
func Infer(items []Item, deficitG, resolutionG, toleranceG float64) ([]result.MissingCandidate, error) {
	if len(items) > MaxItems {
		return nil, fmt.Errorf("%w: %d items, at most %d", ErrTooManyItems, len(items), MaxItems)
	}
	for i, v := range []float64{deficitG, resolutionG, toleranceG} {
		if !finite(v) || v < 0 || v > MaxWeightG {
			return nil, fmt.Errorf("%w: %s must be between 0 and %d g, got %v", ErrInvalidInput, [...]string{"deficit", "resolution", "tolerance"}[i], MaxWeightG, v)
		}
	}
	for i, it := range items {
		if !finite(it.WeightG) || it.WeightG <= 0 || it.WeightG > MaxWeightG {
			return nil, fmt.Errorf("%w: items[%d] weight must be greater than 0 and at most %d g, got %v", ErrInvalidInput, i, MaxWeightG, it.WeightG)
		}
	}
	c := infer(items, deficitG, deficitG-resolutionG-toleranceG, deficitG+toleranceG, MaxCandidates)
	return publicCandidates(items, c), nil
}

// infer finds the k best non-empty subsets with lo ≤ total ≤ hi, ranked by
// |target − total|. Meet in the middle: the subset sums of the second half
// are sorted once; for each subset of the first half the scan starts at the
// sum closest to the target and walks outwards while a pair could still
// enter the top k, so the work beyond the two sorts is bounded by the pairs
// in the band that tie or beat the k-th best.
func infer(items []Item, target, lo, hi float64, k int) []candidate {
	n := len(items)
	if n == 0 || n > MaxItems || hi < lo || k <= 0 {
		return nil
	}
	na := n / 2
	a := subsetSums(items[:na])
	b := subsetSums(items[na:])
	order := make([]int32, len(b))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(x, y int32) int { return cmp.Compare(b[x], b[y]) })
	sb := make([]float64, len(order))
	for i, m := range order {
		sb[i] = b[m]
	}

	// The scan works on sums of the two halves, which may differ from the
	// ordered sum in the last bits; eps keeps it from dropping a subset that
	// the exact sum puts on the band's edge.
	eps := 1e-9 * math.Max(1, math.Max(math.Abs(lo), math.Abs(hi)))
	// Items with the same name and weight are interchangeable: of the sets
	// that differ only by which of them they take, only the one taking the
	// earliest is considered. prev[i] is the bit of the previous item equal
	// to item i (0 if none); a set is canonical when it holds prev[i] for
	// every i it holds.
	prev := make([]uint32, n)
	last := map[Item]int{}
	for i, it := range items {
		if j, ok := last[it]; ok {
			prev[i] = 1 << j
		}
		last[it] = i
	}
	var best []candidate // sorted, at most k
	worst := func() float64 {
		if len(best) < k {
			return math.Inf(1)
		}
		return math.Abs(best[len(best)-1].res)
	}
	// consider adds the pair if it is in the band and good enough; it
	// reports whether scanning in this direction may go on.
	consider := func(ma, mb uint32, sum float64) bool {
		if d := math.Abs(target - sum); d > worst()+eps {
			return false
		}
		if sum < lo-eps || sum > hi+eps || (ma == 0 && mb == 0) {
			return true
		}
		c := candidate{mask: ma | mb<<na}
		var need uint32
		for m := c.mask; m != 0; m &= m - 1 {
			i := bits.TrailingZeros32(m)
			need |= prev[i]
			c.total += items[i].WeightG
			c.n++
		}
		if need&^c.mask != 0 {
			return true // an equal set taking earlier duplicates stands for it
		}
		c.res = target - c.total
		if c.total < lo || c.total > hi { // the exact, ordered sum decides
			return true
		}
		if len(best) == k && !better(&c, &best[k-1]) {
			return true
		}
		i, _ := slices.BinarySearchFunc(best, c, func(x, y candidate) int {
			if better(&x, &y) {
				return -1
			}
			return 1
		})
		best = slices.Insert(best, i, c)
		if len(best) > k {
			best = best[:k]
		}
		return true
	}
	for ma, sa := range a {
		want := target - sa
		if sa > hi+eps || (len(sb) > 0 && sa+sb[len(sb)-1] < lo-eps) {
			continue
		}
		start, _ := slices.BinarySearch(sb, want)
		for j := start; j < len(sb); j++ {
			s := sa + sb[j]
			if s > hi+eps || !consider(uint32(ma), uint32(order[j]), s) {
				break
			}
		}
		for j := start - 1; j >= 0; j-- {
			s := sa + sb[j]
			if s < lo-eps || !consider(uint32(ma), uint32(order[j]), s) {
				break
			}
		}
	}
	return best
}

// subsetSums returns the sum of every subset of items, indexed by bitmask.
func subsetSums(items []Item) []float64 {
	s := make([]float64, 1<<len(items))
	for m := 1; m < len(s); m++ {
		bit := bits.TrailingZeros(uint(m))
		s[m] = s[m&^(1<<bit)] + items[bit].WeightG
	}
	return s
}

func publicCandidates(items []Item, cs []candidate) []result.MissingCandidate {
	out := make([]result.MissingCandidate, 0, len(cs))
	for _, c := range cs {
		names := make([]string, 0, c.n)
		for m := c.mask; m != 0; m &= m - 1 {
			names = append(names, items[bits.TrailingZeros32(m)].Name)
		}
		out = append(out, result.MissingCandidate{Items: names, TotalG: round2(c.total), ResidualG: round2(c.res)})
	}
	return out
}

// ambiguous reports whether the runner-up explains the deficit about as well
// as the best: within half the tolerance t.
func ambiguous(cs []result.MissingCandidate, t float64) bool {
	return len(ambiguousSet(cs, t)) > 1
}

// ambiguousSet is the leading candidates within t/2 of the best, at most 3.
func ambiguousSet(cs []result.MissingCandidate, t float64) []result.MissingCandidate {
	if len(cs) == 0 {
		return nil
	}
	n := 1
	for n < len(cs) && n < 3 && math.Abs(cs[n].ResidualG)-math.Abs(cs[0].ResidualG) <= t/2 {
		n++
	}
	return cs[:n]
}
