package auth

import (
	"slices"
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

func TestReplace(t *testing.T) {
	mint := func(name string, s Scope, biz ...string) (token, line string) {
		t.Helper()
		token, line, err := Mint(name, s, biz)
		if err != nil {
			t.Fatal(err)
		}
		return token, line
	}
	parse := func(lines ...string) *Tokens {
		t.Helper()
		ts, err := Parse(strings.NewReader(strings.Join(lines, "\n")), "tokens")
		if err != nil {
			t.Fatal(err)
		}
		return ts
	}
	a, aLine := mint("a", Read, "b1")
	b, bLine := mint("b", Read, "*")
	c, cLine := mint("c", Write, "b1")
	d, dLine := mint("d", Admin, "*")
	ts := parse(aLine, bLine, cLine)
	pa, _ := ts.Lookup(a)
	pb, _ := ts.Lookup(b)
	pc, _ := ts.Lookup(c)

	// b keeps its token but gains write: its principal is a new one.
	bWider := strings.Replace(bLine, "\tread\t", "\tread,write\t", 1)
	got := ts.Replace(parse(aLine, bWider, dLine))
	want := Changes{Added: []string{"d"}, Removed: []string{"c"}, Changed: []string{"b"}}
	if !slices.Equal(got.Added, want.Added) || !slices.Equal(got.Removed, want.Removed) || !slices.Equal(got.Changed, want.Changed) {
		t.Errorf("Replace = %+v, want %+v", got, want)
	}
	if p, ok := ts.Lookup(a); !ok || p != pa || p.Revoked() {
		t.Errorf("unchanged token a: %p (revoked %v), want its principal %p kept", p, p.Revoked(), pa)
	}
	if p, ok := ts.Lookup(b); !ok || p == pb || !p.May(Write) || p.Revoked() || !pb.Revoked() {
		t.Errorf("changed token b: new %+v, old revoked %v", p, pb.Revoked())
	}
	if _, ok := ts.Lookup(c); ok || !pc.Revoked() {
		t.Errorf("removed token c: still accepted %v, revoked %v", ok, pc.Revoked())
	}
	if p, ok := ts.Lookup(d); !ok || !p.May(Admin) {
		t.Errorf("added token d: %+v, %v", p, ok)
	}
	if ts.Len() != 3 {
		t.Errorf("Len = %d, want 3", ts.Len())
	}
}
