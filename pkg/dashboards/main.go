// Command dashboards writes Graft's monitoring content as provisioning
// files: dashboards, Prometheus rule files, Grafana alerting and the
// datasource, plus the dashboards and rules of Jsonnet monitoring mixins.
//
//	go run ./pkg/dashboards [-out DIR] [-datasource-uid UID] [-mixin PATH]... [-check]
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"

	"github.com/graftlabs/graft/pkg/dashboards/lint"
	"github.com/graftlabs/graft/pkg/dashboards/mixin"
	"github.com/graftlabs/graft/pkg/dashboards/monitoring"
)

type stringList []string

func (l *stringList) String() string     { return fmt.Sprint(*l) }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

type config struct {
	out, datasourceUID string
	mixins             stringList
	check              bool
}

var uidPattern = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,40}$`)

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("dashboards", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.out, "out", "provisioning", "folder to write dashboards/, alerting/, rules/ and datasources/ into")
	fs.StringVar(&c.datasourceUID, "datasource-uid", monitoring.DefaultDatasourceUID, "uid of the Graft datasource the dashboards and alert rules use")
	fs.Var(&c.mixins, "mixin", "a Jsonnet monitoring mixin (a .libsonnet/.jsonnet file, or a folder with mixin.libsonnet) to emit beside Graft's content; repeatable")
	fs.BoolVar(&c.check, "check", false, "after writing, check every file: PromQL parses, dashboards follow the linter's conventions, rule and alerting files are valid")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if !uidPattern.MatchString(c.datasourceUID) {
		return c, fmt.Errorf("-datasource-uid %q: a Grafana uid is 1 to 40 letters, digits, - or _", c.datasourceUID)
	}
	return c, nil
}

func run(args []string, stdout, stderr io.Writer) error {
	c, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	opts := monitoring.DefaultOptions()
	opts.DatasourceUID = c.datasourceUID
	b := monitoring.Standard(opts, []monitoring.Service{monitoring.DemoService()}, monitoring.DefaultNotificationEnv())
	for _, path := range c.mixins {
		m, err := mixin.Load(path)
		if err != nil {
			return err
		}
		if err := m.AddTo(b); err != nil {
			return err
		}
	}
	written, err := b.Write(c.out)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %d files into %s\n", len(written), c.out)
	if !c.check {
		return nil
	}
	problems, err := lint.CheckDir(c.out, written)
	if err != nil {
		return err
	}
	for _, p := range problems {
		fmt.Fprintln(stderr, p)
	}
	if len(problems) > 0 {
		return fmt.Errorf("check: %d problems", len(problems))
	}
	fmt.Fprintf(stdout, "check: %d files pass\n", len(written))
	return nil
}

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "dashboards:", err)
		}
		os.Exit(1)
	}
}
