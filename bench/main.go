// Command bench measures Graft beside Prometheus's own packages on identical
// data in the same run, and prints one row per measurement:
//
//	go run ./bench -suite storage -json
//	go run ./bench -suite promql -quick
//
// Machines are shared and noisy: compare the ratio of the two columns, not
// absolute figures across runs.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
)

// Result is one measurement of Graft and Prometheus on the same workload.
type Result struct {
	Name       string  `json:"name"`
	Unit       string  `json:"unit"`
	Graft      float64 `json:"graft"`
	Prometheus float64 `json:"prometheus"`
	// Better is "higher" or "lower": which direction of the figure wins.
	Better string `json:"better"`
}

// Options are what every suite is given.
type Options struct {
	// Quick keeps a suite under a minute by shrinking its workloads.
	Quick bool
	// Dir is a scratch directory the suite may fill; it is removed after.
	Dir string
	// Log receives progress lines (stderr), never the results.
	Log io.Writer
}

// A Suite runs its measurements and returns one Result each.
type Suite func(ctx context.Context, opts Options) ([]Result, error)

// suites is filled by the init functions of the suite files.
var suites = map[string]Suite{}

func register(name string, s Suite) { suites[name] = s }

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	suite := fs.String("suite", "", "suite to run: "+strings.Join(suiteNames(), ", "))
	asJSON := fs.Bool("json", false, "print a JSON array of results")
	quick := fs.Bool("quick", false, "small workloads: under a minute per suite")
	if err := fs.Parse(args); err != nil {
		return err
	}
	s, ok := suites[*suite]
	if !ok {
		return fmt.Errorf("unknown suite %q (have: %s)", *suite, strings.Join(suiteNames(), ", "))
	}
	dir, err := os.MkdirTemp("", "graft-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	results, err := s(ctx, Options{Quick: *quick, Dir: dir, Log: stderr})
	if err != nil {
		return fmt.Errorf("suite %s: %w", *suite, err)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(results)
	}
	return printTable(stdout, results)
}

func printTable(w io.Writer, results []Result) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "name\tunit\tgraft\tprometheus\tgraft/prometheus\tbetter")
	for _, r := range results {
		ratio := "-"
		if r.Prometheus != 0 {
			ratio = fmt.Sprintf("%.2f", r.Graft/r.Prometheus)
		}
		fmt.Fprintf(tw, "%s\t%s\t%.4g\t%.4g\t%s\t%s\n", r.Name, r.Unit, r.Graft, r.Prometheus, ratio, r.Better)
	}
	return tw.Flush()
}

func suiteNames() []string {
	names := make([]string, 0, len(suites))
	for n := range suites {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
