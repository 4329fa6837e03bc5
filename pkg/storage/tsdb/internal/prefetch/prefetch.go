// Package prefetch asks the CPU to start loading a cache line that the
// caller will read soon, without waiting for it. The head appends to
// thousands of series in turn, each in memory not touched since the last
// scrape: a plain read ahead of time would stall like the read it replaces,
// a prefetch lets the loads of several series overlap.
package prefetch
