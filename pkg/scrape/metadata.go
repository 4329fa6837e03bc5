package scrape

import (
	"slices"

	"github.com/prometheus/prometheus/model/textparse"
)

// Metadata is what a metric family's exposition says of it (# TYPE,
// # HELP, # UNIT).
type Metadata struct {
	Type string `json:"type"`
	Help string `json:"help"`
	Unit string `json:"unit"`
}

// recordMetadata notes the metadata entry the parser is on.
func recordMetadata(p textparse.Parser, entry textparse.Entry, into map[string]Metadata) {
	var name string
	switch entry {
	case textparse.EntryType:
		n, t := p.Type()
		name = string(n)
		m := into[name]
		m.Type = string(t)
		into[name] = m
	case textparse.EntryHelp:
		n, h := p.Help()
		name = string(n)
		m := into[name]
		m.Help = string(h)
		into[name] = m
	case textparse.EntryUnit:
		n, u := p.Unit()
		name = string(n)
		m := into[name]
		m.Unit = string(u)
		into[name] = m
	}
}

// Metadata returns, per metric family, the distinct metadata the active
// targets last exposed for it.
func (m *Manager) Metadata() map[string][]Metadata {
	m.mtx.Lock()
	defer m.mtx.Unlock()
	out := map[string][]Metadata{}
	for _, p := range m.pools {
		for _, l := range p.loops {
			meta := l.metadata.Load()
			if meta == nil {
				continue
			}
			for name, md := range *meta {
				if !slices.Contains(out[name], md) {
					out[name] = append(out[name], md)
				}
			}
		}
	}
	return out
}
