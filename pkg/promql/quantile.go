package promql

import (
	"math"
	"slices"
	"sort"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/promql/parser/posrange"
	"github.com/prometheus/prometheus/util/almost"
	"github.com/prometheus/prometheus/util/annotations"
)

// smallDeltaTolerance is the relative difference under which adjacent
// classic buckets are taken as equal (float noise from rate and sum).
const smallDeltaTolerance = 1e-12

// bucket is one classic histogram bucket: cumulative count up to le.
type bucket struct {
	upperBound float64
	count      float64
}

// bucketQuantileResult is bucketQuantile's answer and what it had to fix.
type bucketQuantileResult struct {
	q                    float64
	forcedMonotonic      bool
	minBucket, maxBucket float64
	maxDiff              float64
}

// bucketQuantile estimates the q-quantile from classic buckets, linearly
// interpolating inside the bucket that holds the rank. It needs a +Inf
// bucket; it forces the counts monotonic (rate() over buckets scraped at
// slightly different times can break that) and reports whether it had to.
func bucketQuantile(q float64, buckets []bucket) bucketQuantileResult {
	res := bucketQuantileResult{minBucket: math.Inf(1), maxBucket: math.Inf(-1)}
	switch {
	case math.IsNaN(q):
		res.q = math.NaN()
		return res
	case q < 0:
		res.q = math.Inf(-1)
		return res
	case q > 1:
		res.q = math.Inf(1)
		return res
	}
	sortBuckets(buckets)
	if !math.IsInf(buckets[len(buckets)-1].upperBound, 1) {
		res.q = math.NaN()
		return res
	}
	buckets = coalesceBuckets(buckets)
	res.forcedMonotonic, res.minBucket, res.maxBucket, res.maxDiff = ensureMonotonic(buckets)
	if len(buckets) < 2 {
		res.q = math.NaN()
		return res
	}
	observations := buckets[len(buckets)-1].count
	if observations == 0 {
		res.q = math.NaN()
		return res
	}
	rank := q * observations
	b := sort.Search(len(buckets)-1, func(i int) bool { return buckets[i].count >= rank })
	switch {
	case b == len(buckets)-1:
		res.q = buckets[len(buckets)-2].upperBound
	case b == 0 && buckets[0].upperBound <= 0:
		res.q = buckets[0].upperBound
	default:
		var start float64
		end, count := buckets[b].upperBound, buckets[b].count
		if b > 0 {
			start = buckets[b-1].upperBound
			count -= buckets[b-1].count
			rank -= buckets[b-1].count
		}
		res.q = start + (end-start)*(rank/count)
	}
	return res
}

func sortBuckets(buckets []bucket) {
	slices.SortFunc(buckets, func(a, b bucket) int {
		switch {
		case a.upperBound < b.upperBound:
			return -1
		case a.upperBound > b.upperBound:
			return 1
		}
		return 0
	})
}

// coalesceBuckets merges buckets with the same upper bound (e.g. le="1" and
// le="1.0"), summing their counts. buckets must be sorted.
func coalesceBuckets(buckets []bucket) []bucket {
	last := buckets[0]
	i := 0
	for _, b := range buckets[1:] {
		if b.upperBound == last.upperBound {
			last.count += b.count
		} else {
			buckets[i] = last
			last = b
			i++
		}
	}
	buckets[i] = last
	return buckets[:i+1]
}

// ensureMonotonic makes the cumulative counts non-decreasing, ignoring
// differences below smallDeltaTolerance, and reports the buckets it fixed.
func ensureMonotonic(buckets []bucket) (forced bool, minBucket, maxBucket, maxDiff float64) {
	minBucket, maxBucket = math.Inf(1), math.Inf(-1)
	prev := buckets[0].count
	for i := 1; i < len(buckets); i++ {
		cur := buckets[i].count
		if cur == prev {
			continue
		}
		if almost.Equal(prev, cur, smallDeltaTolerance) {
			buckets[i].count = prev
			continue
		}
		if cur < prev {
			buckets[i].count = prev
			forced = true
			minBucket = min(minBucket, buckets[i].upperBound)
			maxBucket = max(maxBucket, buckets[i].upperBound)
			maxDiff = max(maxDiff, prev-cur)
			continue
		}
		prev = cur
	}
	return forced, minBucket, maxBucket, maxDiff
}

// histogramQuantile estimates the q-quantile of a native histogram:
// exponential interpolation inside exponential buckets, linear inside the
// zero bucket and custom buckets.
func histogramQuantile(q float64, h *histogram.FloatHistogram, metricName string, pos posrange.PositionRange) (float64, annotations.Annotations) {
	if q < 0 {
		return math.Inf(-1), nil
	}
	if q > 1 {
		return math.Inf(1), nil
	}
	if h.Count == 0 || math.IsNaN(q) {
		return math.NaN(), nil
	}
	var (
		annos  annotations.Annotations
		b      histogram.Bucket[float64]
		count  float64
		it     histogram.BucketIterator[float64]
		rank   float64
		fromLo = math.IsNaN(h.Sum) || q < 0.5
	)
	// Walk from the nearer end: less float error accumulates.
	if fromLo {
		it, rank = h.AllBucketIterator(), q*h.Count
	} else {
		it, rank = h.AllReverseBucketIterator(), (1-q)*h.Count
	}
	for it.Next() {
		b = it.At()
		if b.Count == 0 {
			continue
		}
		count += b.Count
		if count >= rank {
			break
		}
	}
	if !h.UsesCustomBuckets() && b.Lower < 0 && b.Upper > 0 {
		switch {
		case len(h.NegativeBuckets) == 0 && len(h.PositiveBuckets) > 0:
			b.Lower = 0 // only positive observations: the zero bucket is [0, t]
		case len(h.PositiveBuckets) == 0 && len(h.NegativeBuckets) > 0:
			b.Upper = 0
		}
	} else if h.UsesCustomBuckets() {
		if b.Lower == math.Inf(-1) {
			if b.Upper <= 0 {
				return b.Upper, annos
			}
			b.Lower = 0
		} else if b.Upper == math.Inf(1) {
			return b.Lower, annos
		}
	}
	count = min(count, h.Count)
	if count < rank {
		// NaN observations are not in any bucket.
		if math.IsNaN(h.Sum) {
			return math.NaN(), annos.Add(annotations.NewNativeHistogramQuantileNaNResultInfo(metricName, pos))
		}
		return b.Upper, annos
	}
	if fromLo {
		rank -= count - b.Count
	} else {
		rank = count - rank
	}
	if math.IsNaN(h.Sum) {
		for it.Next() {
			count += it.At().Count
		}
		if count < h.Count {
			annos.Add(annotations.NewNativeHistogramQuantileNaNSkewInfo(metricName, pos))
		}
	}
	fraction := rank / b.Count
	if h.UsesCustomBuckets() || (b.Lower <= 0 && b.Upper >= 0) {
		return b.Lower + (b.Upper-b.Lower)*fraction, annos
	}
	logLower := math.Log2(math.Abs(b.Lower))
	logUpper := math.Log2(math.Abs(b.Upper))
	if b.Lower > 0 {
		return math.Exp2(logLower + (logUpper-logLower)*fraction), annos
	}
	return -math.Exp2(logUpper + (logLower-logUpper)*(1-fraction)), annos
}

// histogramFraction estimates the share of observations of a native
// histogram between lower and upper.
func histogramFraction(lower, upper float64, h *histogram.FloatHistogram, metricName string, pos posrange.PositionRange) (float64, annotations.Annotations) {
	if h.Count == 0 || math.IsNaN(lower) || math.IsNaN(upper) {
		return math.NaN(), nil
	}
	if lower >= upper {
		return 0, nil
	}
	var (
		count, rank, lowerRank, upperRank float64
		lowerSet, upperSet                bool
		it                                = h.AllBucketIterator()
		annos                             annotations.Annotations
	)
	for it.Next() {
		b := it.At()
		count += b.Count
		zeroBucket := false
		linear := func(v float64) float64 {
			if b.Lower == math.Inf(-1) {
				return b.Count
			}
			return rank + b.Count*b.FractionBelow(v, true)
		}
		exponential := func(v float64) float64 {
			return rank + b.Count*b.FractionBelow(v, false)
		}
		if b.Lower <= 0 && b.Upper >= 0 {
			zeroBucket = true
			switch {
			case len(h.NegativeBuckets) == 0 && len(h.PositiveBuckets) > 0:
				b.Lower = 0
			case len(h.PositiveBuckets) == 0 && len(h.NegativeBuckets) > 0:
				b.Upper = 0
			}
		}
		if !lowerSet && b.Lower >= lower {
			lowerRank, lowerSet = rank, true
		}
		if !upperSet && b.Lower >= upper {
			upperRank, upperSet = rank, true
		}
		if lowerSet && upperSet {
			break
		}
		interp := exponential
		if h.UsesCustomBuckets() || zeroBucket {
			interp = linear
		}
		if !lowerSet && b.Lower < lower && b.Upper > lower {
			lowerRank, lowerSet = interp(lower), true
		}
		if !upperSet && b.Lower < upper && b.Upper > upper {
			upperRank, upperSet = interp(upper), true
		}
		if lowerSet && upperSet {
			break
		}
		rank += b.Count
	}
	if math.IsNaN(h.Sum) {
		for it.Next() {
			count += it.At().Count
		}
		if count < h.Count {
			annos.Add(annotations.NewNativeHistogramFractionNaNsInfo(metricName, pos))
		}
	} else {
		count = h.Count
	}
	if !lowerSet || lowerRank > count {
		lowerRank = count
	}
	if !upperSet || upperRank > count {
		upperRank = count
	}
	return (upperRank - lowerRank) / h.Count, annos
}

// bucketFraction is histogramFraction for classic buckets.
func bucketFraction(lower, upper float64, buckets []bucket) float64 {
	sortBuckets(buckets)
	if !math.IsInf(buckets[len(buckets)-1].upperBound, 1) {
		return math.NaN()
	}
	buckets = coalesceBuckets(buckets)
	count := buckets[len(buckets)-1].count
	if count == 0 || math.IsNaN(lower) || math.IsNaN(upper) {
		return math.NaN()
	}
	if lower >= upper {
		return 0
	}
	var (
		rank, lowerRank, upperRank float64
		lowerSet, upperSet         bool
	)
	lowerBound := 0.0
	if buckets[0].upperBound <= 0 {
		lowerBound = math.Inf(-1)
	}
	for i, b := range buckets {
		if i > 0 {
			lowerBound = buckets[i-1].upperBound
		}
		upperBound := b.upperBound
		linear := func(v float64) float64 {
			if lowerBound == math.Inf(-1) {
				return b.count
			}
			return rank + (b.count-rank)*(v-lowerBound)/(upperBound-lowerBound)
		}
		if !lowerSet && lowerBound >= lower {
			lowerRank, lowerSet = rank, true
		}
		if !upperSet && lowerBound >= upper {
			upperRank, upperSet = rank, true
		}
		if lowerSet && upperSet {
			break
		}
		if !lowerSet && lowerBound < lower && upperBound > lower {
			lowerRank, lowerSet = linear(lower), true
		}
		if !upperSet && lowerBound < upper && upperBound > upper {
			upperRank, upperSet = linear(upper), true
		}
		if lowerSet && upperSet {
			break
		}
		rank = b.count
	}
	if !lowerSet || lowerRank > count {
		lowerRank = count
	}
	if !upperSet || upperRank > count {
		upperRank = count
	}
	return (upperRank - lowerRank) / count
}

// quantile is the q-quantile of values (sorted in place, NaN first) with
// linear interpolation between ranks, as the quantile aggregation computes.
func quantile(q float64, values []float64) float64 {
	if len(values) == 0 || math.IsNaN(q) {
		return math.NaN()
	}
	if q < 0 {
		return math.Inf(-1)
	}
	if q > 1 {
		return math.Inf(1)
	}
	sortNaNFirst(values)
	n := float64(len(values))
	rank := q * (n - 1)
	lower := math.Max(0, math.Floor(rank))
	upper := math.Min(n-1, lower+1)
	weight := rank - math.Floor(rank)
	return values[int(lower)]*(1-weight) + values[int(upper)]*weight
}

// sortNaNFirst sorts ascending with NaNs before every number.
func sortNaNFirst(values []float64) {
	slices.SortFunc(values, func(a, b float64) int {
		switch {
		case math.IsNaN(a) && math.IsNaN(b):
			return 0
		case math.IsNaN(a):
			return -1
		case math.IsNaN(b):
			return 1
		case a < b:
			return -1
		case a > b:
			return 1
		}
		return 0
	})
}
