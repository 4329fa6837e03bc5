//go:build mage

// Magefile builds the plugin's backend through the plugin SDK's build
// package. Run it without installing mage: `go run mage.go -v <target>`
// (for example buildAll, build:linux, dist).
package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"strings"

	"github.com/magefile/mage/mg"

	// mage:import
	build "github.com/grafana/grafana-plugin-sdk-go/build"
)

const versionPkg = "github.com/graftlabs/graft/pkg/version"

func init() {
	_ = build.SetBeforeBuildCallback(func(cfg build.Config) (build.Config, error) {
		// plugin.json lives at the repository root, not in src/.
		cfg.PluginJSONPath = "."
		if cfg.CustomVars == nil {
			cfg.CustomVars = map[string]string{}
		}
		cfg.CustomVars[versionPkg+".Version"] = packageVersion()
		cfg.CustomVars[versionPkg+".Revision"] = git("rev-parse", "--short", "HEAD")
		cfg.CustomVars[versionPkg+".Branch"] = git("rev-parse", "--abbrev-ref", "HEAD")
		return cfg, nil
	})
}

// Default builds every supported platform.
var Default = Dist

// Dist builds the backend for linux, darwin and windows on amd64 and arm64.
func Dist() {
	b := build.Build{}
	mg.Deps(b.Linux, b.LinuxARM64, b.Darwin, b.DarwinARM64, b.Windows, WindowsARM64)
}

// WindowsARM64 builds the backend for Windows on ARM64.
func WindowsARM64() error {
	return build.Build{}.Custom("windows", "arm64")
}

// packageVersion is the version in package.json, which the frontend build
// also writes into dist/plugin.json.
func packageVersion() string {
	b, err := os.ReadFile("package.json")
	if err != nil {
		return "unknown"
	}
	var pkg struct {
		Version string `json:"version"`
	}
	if json.Unmarshal(b, &pkg) != nil || pkg.Version == "" {
		return "unknown"
	}
	return pkg.Version
}

func git(args ...string) string {
	out, err := exec.Command("git", args...).Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}
