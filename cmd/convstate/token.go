package main

import (
	"context"
	"fmt"

	"github.com/convstate/convstate/auth"
)

func runToken(_ context.Context, e env, args []string) error {
	var name, scopes string
	var businesses stringList
	fs := newFlagSet("token --name NAME [--scopes read,write] [--businesses ID,ID|*]",
		"Mints a bearer token and prints it with the line to add to the --auth-tokens file.\nconvstate keeps only the token's SHA-256: the token is shown once.", e)
	fs.StringVar(&name, "name", "", "who the token is for (appears in logs; letters, digits, ._:@-)")
	fs.StringVar(&scopes, "scopes", "read", "comma-separated: read, write, admin")
	fs.Var(&businesses, "businesses", "business phone number ids the token may access (comma-separated or repeated); * for all")
	if err := fs.parse(args); err != nil {
		return err
	}
	if name == "" {
		return fmt.Errorf("--name is required")
	}
	sc, err := auth.ParseScopes(scopes)
	if err != nil {
		return fmt.Errorf("--scopes: %w", err)
	}
	if len(businesses) == 0 {
		return fmt.Errorf("--businesses is required: the business ids the token may access, or * for all")
	}
	token, line, err := auth.Mint(name, sc, businesses)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "# token for %s (shown once: give it to the caller, store it as a secret):\n%s\n", name, token)
	fmt.Fprintf(e.stdout, "# add this line to the --auth-tokens file:\n%s\n", line)
	return nil
}
