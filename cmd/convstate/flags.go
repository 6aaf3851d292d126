package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// flagSet is a flag.FlagSet whose flags may default from environment variables; the
// usage lists each flag with its variable, so --help documents every setting.
type flagSet struct {
	*flag.FlagSet
	getenv  func(string) string
	envs    map[string]string // flag name -> env var
	envErrs []error
}

func newFlagSet(name, synopsis string, e env) *flagSet {
	fs := &flagSet{FlagSet: flag.NewFlagSet(name, flag.ContinueOnError), getenv: e.getenv, envs: map[string]string{}}
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "Usage: convstate %s\n\n%s\n\nFlags:\n", name, synopsis)
		fs.VisitAll(func(f *flag.Flag) {
			kind, usage := flag.UnquoteUsage(f)
			if k, ok := f.Value.(interface{ Kind() string }); ok {
				kind = k.Kind()
			}
			fmt.Fprintf(w, "  --%s %s\n    \t%s", f.Name, kind, strings.ReplaceAll(usage, "\n", "\n    \t"))
			if f.DefValue != "" && f.DefValue != "[]" && f.DefValue != "false" && f.DefValue != "0" {
				fmt.Fprintf(w, " (default %s)", f.DefValue)
			}
			if v := fs.envs[f.Name]; v != "" {
				fmt.Fprintf(w, " [$%s]", v)
			}
			fmt.Fprintln(w)
		})
	}
	return fs
}

// env binds a flag to an environment variable: the variable, when set, replaces the
// default; a flag on the command line wins over both.
func (fs *flagSet) env(name, variable string) {
	fs.envs[name] = variable
	v := fs.getenv(variable)
	if v == "" {
		return
	}
	if err := fs.Set(name, v); err != nil {
		fs.envErrs = append(fs.envErrs, fmt.Errorf("$%s=%q: %v", variable, v, err))
	}
}

// parse parses args; environment errors are reported first.
func (fs *flagSet) parse(args []string) error {
	if len(fs.envErrs) > 0 {
		return fs.envErrs[0]
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (flags are --name value)", fs.Arg(0))
	}
	return nil
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string { return strings.Join(*s, ",") }
func (s *stringList) Kind() string   { return "file" }
func (s *stringList) Set(v string) error {
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*s = append(*s, p)
		}
	}
	return nil
}

// nonNegDuration is a duration flag that rejects negative values.
type nonNegDuration struct{ d *time.Duration }

func (n nonNegDuration) String() string {
	if n.d == nil {
		return ""
	}
	return n.d.String()
}
func (n nonNegDuration) Kind() string { return "duration" }
func (n nonNegDuration) Set(v string) error {
	d, err := time.ParseDuration(v)
	if err != nil {
		return err
	}
	if d < 0 {
		return fmt.Errorf("must not be negative")
	}
	*n.d = d
	return nil
}

// intAtLeast is an int flag with a lower bound: positiveInt (> 0) or nonNegInt (>= 0).
type intAtLeast struct {
	n   *int
	min int
}

func positiveInt(n *int) intAtLeast { return intAtLeast{n: n, min: 1} }
func nonNegInt(n *int) intAtLeast   { return intAtLeast{n: n} }

func (p intAtLeast) String() string {
	if p.n == nil {
		return ""
	}
	return strconv.Itoa(*p.n)
}
func (p intAtLeast) Kind() string { return "int" }
func (p intAtLeast) Set(v string) error {
	n, err := strconv.Atoi(v)
	if err != nil {
		return fmt.Errorf("not an integer")
	}
	switch {
	case n < p.min && p.min == 1:
		return fmt.Errorf("must be positive")
	case n < p.min:
		return fmt.Errorf("must not be negative")
	}
	*p.n = n
	return nil
}

// openOrFail opens a file for reading with an error that names the flag.
func openOrFail(flagName, path string) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--%s: %w", flagName, err)
	}
	return f, nil
}
