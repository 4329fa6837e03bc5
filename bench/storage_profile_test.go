package main

import (
	"context"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
)

// BenchmarkHeadIngest runs the ingest part of the storage suite's head
// workload (100k series; 20k with GRAFT_QUICK=1; GRAFT_ROUNDS rounds) on
// one engine, for profiling:
//
//	GRAFT_ENGINE=prometheus go test ./bench -run - -bench HeadIngest -cpuprofile cpu.out
//
// It reports round 0 (series creation) and the later rounds apart; in the
// profile, their samples carry the label phase=create or phase=steady.
func BenchmarkHeadIngest(b *testing.B) {
	lsets, err := load20kSeries()
	if err != nil {
		b.Fatal(err)
	}
	cfg := storageConfig{series: 100_000, rounds: 120}
	if os.Getenv("GRAFT_QUICK") != "" {
		cfg = storageConfig{series: 20_000, rounds: 40}
	}
	if v := os.Getenv("GRAFT_ROUNDS"); v != "" {
		if cfg.rounds, err = strconv.Atoi(v); err != nil || cfg.rounds < 1 {
			b.Fatalf("GRAFT_ROUNDS: want a positive number, got %q", v)
		}
	}
	active := activeSeries(lsets, cfg.series)
	open := openGraft
	if os.Getenv("GRAFT_ENGINE") == "prometheus" {
		open = openProm
	}
	var first, rest, firstCPU, restCPU time.Duration
	for range b.N {
		e, err := open(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		refs := make([]uint64, len(active))
		for r := range cfg.rounds {
			start, startCPU := time.Now(), cpuTime(b)
			phase := "steady"
			if r == 0 {
				phase = "create"
			}
			pprof.Do(context.Background(), pprof.Labels("phase", phase), func(context.Context) {
				mustIngestRound(b, e, active, refs, int64(r)*15000, r)
			})
			if r == 0 {
				first, firstCPU = first+time.Since(start), firstCPU+cpuTime(b)-startCPU
			} else {
				rest, restCPU = rest+time.Since(start), restCPU+cpuTime(b)-startCPU
			}
		}
		if err := e.crash(); err != nil {
			b.Fatal(err)
		}
	}
	n := float64(b.N)
	b.ReportMetric(first.Seconds()/n, "round0-s")
	b.ReportMetric(rest.Seconds()/n, "rest-s")
	b.ReportMetric(firstCPU.Seconds()/n, "round0-cpu-s")
	b.ReportMetric(restCPU.Seconds()/n, "rest-cpu-s")
	b.ReportMetric(float64(len(active)*cfg.rounds)*n/(first+rest).Seconds(), "samples/s")
}

// BenchmarkWALReplay measures the storage suite's wal_replay_seconds on
// one engine, for profiling: the head workload's ingest (sizes as
// BenchmarkHeadIngest), a crash, then each iteration reopens the directory
// and crashes again.
//
//	GRAFT_ENGINE=prometheus go test ./bench -run - -bench WALReplay -cpuprofile cpu.out
func BenchmarkWALReplay(b *testing.B) {
	lsets, err := load20kSeries()
	if err != nil {
		b.Fatal(err)
	}
	series, rounds := 100_000, 120
	if os.Getenv("GRAFT_QUICK") != "" {
		series, rounds = 20_000, 40
	}
	active := activeSeries(lsets, series)
	open := openGraft
	if os.Getenv("GRAFT_ENGINE") == "prometheus" {
		open = openProm
	}
	dir := b.TempDir()
	e, err := open(dir)
	if err != nil {
		b.Fatal(err)
	}
	refs := make([]uint64, len(active))
	for r := range rounds {
		mustIngestRound(b, e, active, refs, int64(r)*15000, r)
	}
	if err := e.crash(); err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	var cpu time.Duration
	b.ResetTimer()
	for range b.N {
		startCPU := cpuTime(b)
		if e, err = open(dir); err != nil {
			b.Fatal(err)
		}
		cpu += cpuTime(b) - startCPU
		b.StopTimer()
		if err := e.crash(); err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		b.StartTimer()
	}
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s")
}

func mustIngestRound(b *testing.B, e engine, lsets []labels.Labels, refs []uint64, ts int64, r int) {
	if err := ingestRound(e, lsets, refs, ts, r); err != nil {
		b.Fatal(err)
	}
}

// cpuTime is the CPU time the process used so far: on a shared machine it
// varies less than the wall time.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
