package remote

import (
	"testing"

	promconfig "github.com/prometheus/prometheus/config"

	"github.com/graftlabs/graft/pkg/remote/queue"
)

func TestDesiredShards(t *testing.T) {
	q, err := queue.Open(t.TempDir(), queue.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	s := &sender{q: q, qc: promconfig.QueueConfig{MinShards: 1, MaxShards: 8, MaxSamplesPerSend: 10}}
	if got := s.desiredShards(4); got != 2 {
		t.Fatalf("no backlog, 4 shards: want 2, got %d", got)
	}
	if got := s.desiredShards(1); got != 1 {
		t.Fatalf("no backlog, 1 shard: want 1 (min), got %d", got)
	}
	if err := q.Append([]byte("x"), 100); err != nil { // 100 samples waiting
		t.Fatal(err)
	}
	for n, want := range map[int]int{1: 2, 4: 8, 8: 8, 16: 16} {
		if got := s.desiredShards(n); got != want {
			t.Errorf("backlog 100, %d shards of 10 per send: want %d, got %d", n, want, got)
		}
	}
	s.failingBatches.Add(1)
	if got := s.desiredShards(2); got != 2 {
		t.Fatalf("while sends fail the count stays: got %d", got)
	}
}
