package tsdb

import (
	"context"
	"math"
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/graftlabs/graft/pkg/storage"
)

// SeekNewest lands on the newest sample at or before t, as a scan would,
// and does so without decoding at the head's newest sample.
func TestSeekNewest(t *testing.T) {
	db := openBlocksTest(t, t.TempDir(), nil)
	defer db.Close()
	fill(t, db, 3, 0, 700) // 15s apart, blocks of 1h cut below
	maintain(t, db)
	fill(t, db, 3, 700, 750)
	newest := int64(749) * 15000
	for _, ref := range []int64{newest, newest + 7000, newest - 15000, newest - 1, 100 * 15000, 5} {
		q, err := db.Querier(0, newest+10000)
		if err != nil {
			t.Fatal(err)
		}
		ss := q.Select(context.Background(), nil, labels.MustNewMatcher(labels.MatchEqual, "__name__", "m"))
		for ss.Next() {
			s := ss.At()
			want, ok := scanNewest(s.Iterator(nil), ref)
			it := s.Iterator(nil)
			vt, cheap := it.(storage.NewestIterator).SeekNewest(ref)
			if ref >= newest && !cheap {
				t.Fatalf("%s at %d: not answered from the open chunk", s.Labels(), ref)
			}
			if !cheap {
				continue
			}
			if gt, gv := it.At(); !ok || vt != storage.ValFloat || gt != want.t || math.Float64bits(gv) != math.Float64bits(want.v) {
				t.Fatalf("%s at %d: got %d %v, want %v", s.Labels(), ref, gt, gv, want)
			}
			if it.Next() != storage.ValNone {
				t.Fatalf("%s at %d: samples after the newest", s.Labels(), ref)
			}
		}
		if err := ss.Err(); err != nil {
			t.Fatal(err)
		}
		q.Close()
	}
}

func scanNewest(it storage.Iterator, ref int64) (sample, bool) {
	var s sample
	found := false
	for it.Next() == storage.ValFloat {
		ts, v := it.At()
		if ts > ref {
			break
		}
		s, found = sample{ts, v}, true
	}
	return s, found
}
