// Package version holds build information, set with -ldflags -X at build time.
package version

import "runtime"

// Set by the build (-ldflags "-X github.com/graftlabs/graft/pkg/version.Version=...").
var (
	Version   = "0.1.0-dev"
	Revision  = "unknown"
	Branch    = "unknown"
	BuildUser = "unknown"
	BuildDate = "unknown"
)

// Info is build information in the shape of Prometheus's buildinfo endpoint.
type Info struct {
	Version   string `json:"version"`
	Revision  string `json:"revision"`
	Branch    string `json:"branch"`
	BuildUser string `json:"buildUser"`
	BuildDate string `json:"buildDate"`
	GoVersion string `json:"goVersion"`
}

// Get returns the build information of this binary.
func Get() Info {
	return Info{
		Version: Version, Revision: Revision, Branch: Branch,
		BuildUser: BuildUser, BuildDate: BuildDate, GoVersion: runtime.Version(),
	}
}

// UserAgent is the User-Agent Graft sends when it scrapes.
func UserAgent() string { return "Graft/" + Version }
