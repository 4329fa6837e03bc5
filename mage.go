//go:build ignore

// Zero-install mage: `go run mage.go <target>` runs the targets of Magefile.go.
package main

import (
	"os"

	"github.com/magefile/mage/mage"
)

func main() { os.Exit(mage.Main()) }
