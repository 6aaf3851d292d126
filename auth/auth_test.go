package auth

import (
	"strings"
	"testing"
)

func TestMintAndParse(t *testing.T) {
	tok, line, err := Mint("inbox-bot", Read|Write, []string{"b1", "b2"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tok, TokenPrefix) || strings.Contains(line, tok) {
		t.Fatalf("token %q, line %q", tok, line)
	}
	root, rootLine, err := Mint("ops", Read|Write|Admin, []string{"*"})
	if err != nil {
		t.Fatal(err)
	}
	ts, err := Parse(strings.NewReader("# tokens\n\n"+line+"\n"+rootLine+"\n"), "tokens")
	if err != nil {
		t.Fatal(err)
	}
	p, ok := ts.Lookup(tok)
	if !ok || p.Name != "inbox-bot" || !p.May(Read) || !p.May(Write) || p.May(Admin) || !p.Sees("b2") || p.Sees("b3") || p.All {
		t.Errorf("inbox-bot = %+v", p)
	}
	r, ok := ts.Lookup(root)
	if !ok || !r.All || !r.Sees("anything") || !r.May(Admin) {
		t.Errorf("ops = %+v", r)
	}
	if _, ok := ts.Lookup(tok + "x"); ok {
		t.Errorf("a wrong token was accepted")
	}
	if ts.Len() != 2 {
		t.Errorf("Len = %d", ts.Len())
	}
}

func TestParseErrors(t *testing.T) {
	hash := Hash("cst_x")
	tests := []struct{ file, want string }{
		{"", "no tokens"},
		{"a " + hash + " read", "want 4 fields"},
		{"a cst_x read *", "not the token itself"},
		{"a " + hash + " root *", `scope "root"`},
		{"a " + hash + " read *\na " + Hash("cst_y") + " read *", `name "a" appears twice`},
		{"a " + hash + " read *\nb " + hash + " read *", "same token hash"},
		{"a " + hash + " read b1,*", "* alone"},
		{"a/b " + hash + " read *", "letters, digits"},
	}
	for _, tt := range tests {
		_, err := Parse(strings.NewReader(tt.file), "tokens")
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Parse(%q) = %v, want an error containing %q", tt.file, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), "cst_x") {
			t.Errorf("an error echoes the token: %v", err)
		}
	}
	if _, _, err := Mint("x", 0, nil); err == nil {
		t.Errorf("Mint without scopes accepted")
	}
	if got := (Read | Admin).String(); got != "read,admin" {
		t.Errorf("String = %q", got)
	}
}
