// Package auth holds convstate's bearer tokens: the token file (tokens stored as
// SHA-256 hashes, never in clear), what each token may do (read, write, admin) and
// for which business numbers, and minting new tokens.
//
// The file has one token per line, fields separated by spaces or tabs:
//
//	# NAME      SHA256-OF-TOKEN (hex)                                             SCOPES      BUSINESSES
//	inbox-bot   3a7bd3e2360a3d29eea436fcfb7e44c735d117c42d1c1835420b6b9942dd4f1b  read,write  106540352242922,106540352242923
//	finance     ...                                                               read        *
//
// SCOPES is a comma-separated subset of read, write and admin; BUSINESSES is a
// comma-separated list of business phone number ids, or * for all.
package auth

import (
	"bufio"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
)

// Scope is what a token may do.
type Scope uint8

// Scopes.
const (
	Read  Scope = 1 << iota // decisions, pair state, charges, usage, profiles
	Write                   // record facts
	Admin                   // set profiles, backups
)

var scopeNames = map[string]Scope{"read": Read, "write": Write, "admin": Admin}

func (s Scope) String() string {
	var names []string
	for _, n := range []string{"read", "write", "admin"} {
		if s&scopeNames[n] != 0 {
			names = append(names, n)
		}
	}
	return strings.Join(names, ",")
}

// ParseScopes parses "read,write".
func ParseScopes(s string) (Scope, error) {
	var out Scope
	for _, p := range strings.Split(s, ",") {
		sc, ok := scopeNames[strings.TrimSpace(p)]
		if !ok {
			return 0, fmt.Errorf("scope %q is not read, write or admin", p)
		}
		out |= sc
	}
	return out, nil
}

// Principal is the caller a token stands for.
type Principal struct {
	Name       string
	Scopes     Scope
	All        bool            // every business
	Businesses map[string]bool // when not All

	// revoked is set once a reload removed the token or changed its grants, so that
	// what was authorized before (an open stream) can stop.
	revoked atomic.Bool
}

// Revoked reports whether a reload has since removed this principal's token or
// changed what it grants.
func (p *Principal) Revoked() bool { return p.revoked.Load() }

// sameGrants reports whether p and q grant the same.
func (p *Principal) sameGrants(q *Principal) bool {
	return p.Name == q.Name && p.Scopes == q.Scopes && p.All == q.All && maps.Equal(p.Businesses, q.Businesses)
}

// May reports whether the principal has the scope.
func (p *Principal) May(s Scope) bool { return p.Scopes&s == s }

// Sees reports whether the principal may touch a business.
func (p *Principal) Sees(business string) bool { return p.All || p.Businesses[business] }

// Tokens is a loaded token file. Replace swaps in a reloaded one while calls are
// being authenticated.
type Tokens struct {
	byHash atomic.Pointer[map[string]*Principal]
}

func (t *Tokens) tokens() map[string]*Principal { return *t.byHash.Load() }

// Len returns how many tokens are loaded.
func (t *Tokens) Len() int { return len(t.tokens()) }

// Lookup returns the principal of a presented token.
func (t *Tokens) Lookup(token string) (*Principal, bool) {
	p, ok := t.tokens()[Hash(token)]
	return p, ok
}

// Changes says what a Replace changed, by token name.
type Changes struct {
	Added, Removed, Changed []string
}

// Replace makes next's tokens the ones Lookup knows, from now on. A token whose
// grants are unchanged keeps its principal; the principal of a token that is gone,
// or whose grants changed, is marked revoked. next must not be used afterwards, and
// Replace must not run concurrently with itself (serve reloads from one goroutine).
func (t *Tokens) Replace(next *Tokens) Changes {
	old, nw := t.tokens(), next.tokens()
	var c Changes
	for h, q := range nw {
		switch p, ok := old[h]; {
		case !ok:
			c.Added = append(c.Added, q.Name)
		case p.sameGrants(q):
			nw[h] = p // calls and streams it authorized carry on
		default:
			c.Changed = append(c.Changed, q.Name)
		}
	}
	t.byHash.Store(&nw)
	for h, p := range old {
		if nw[h] != p {
			p.revoked.Store(true)
			if _, ok := nw[h]; !ok {
				c.Removed = append(c.Removed, p.Name)
			}
		}
	}
	slices.Sort(c.Added)
	slices.Sort(c.Removed)
	slices.Sort(c.Changed)
	return c
}

// Hash is the hex SHA-256 of a token, as stored in the file.
func Hash(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

var (
	hashRE = regexp.MustCompile(`^[0-9a-f]{64}$`)
	nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:@-]*$`)
)

// Parse reads a token file. Errors name the line; a token (rather than its hash)
// pasted by mistake is refused without echoing it.
func Parse(r io.Reader, source string) (*Tokens, error) {
	byHash := map[string]*Principal{}
	names := map[string]bool{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 4 {
			return nil, fmt.Errorf("%s:%d: want 4 fields (NAME SHA256 SCOPES BUSINESSES), got %d", source, n, len(f))
		}
		name, hash, scopes, biz := f[0], strings.ToLower(f[1]), f[2], f[3]
		if !nameRE.MatchString(name) {
			return nil, fmt.Errorf("%s:%d: name %q: letters, digits and ._:@- only", source, n, name)
		}
		if names[name] {
			return nil, fmt.Errorf("%s:%d: name %q appears twice", source, n, name)
		}
		if !hashRE.MatchString(hash) {
			return nil, fmt.Errorf("%s:%d: the second field must be the token's SHA-256 in hex (64 characters), not the token itself: run `convstate token` to mint one", source, n)
		}
		if _, dup := byHash[hash]; dup {
			return nil, fmt.Errorf("%s:%d: the same token hash appears twice", source, n)
		}
		sc, err := ParseScopes(scopes)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %v", source, n, err)
		}
		p := &Principal{Name: name, Scopes: sc}
		if biz == "*" {
			p.All = true
		} else {
			p.Businesses = map[string]bool{}
			for _, b := range strings.Split(biz, ",") {
				if b = strings.TrimSpace(b); b == "" || b == "*" {
					return nil, fmt.Errorf("%s:%d: businesses: a comma-separated list of business ids, or * alone", source, n)
				}
				p.Businesses[b] = true
			}
		}
		names[name] = true
		byHash[hash] = p
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	if len(byHash) == 0 {
		return nil, fmt.Errorf("%s: no tokens: every call would be refused", source)
	}
	t := &Tokens{}
	t.byHash.Store(&byHash)
	return t, nil
}

// TokenPrefix starts every minted token, so a leaked one is recognisable.
const TokenPrefix = "cst_"

// Mint returns a new random token (256 bits) and the file line that grants it.
func Mint(name string, scopes Scope, businesses []string) (token, line string, err error) {
	if !nameRE.MatchString(name) {
		return "", "", fmt.Errorf("name %q: letters, digits and ._:@- only", name)
	}
	if scopes == 0 {
		return "", "", fmt.Errorf("at least one scope (read, write, admin) is needed")
	}
	biz := "*"
	if len(businesses) > 0 {
		if slices.Contains(businesses, "*") {
			if len(businesses) > 1 {
				return "", "", fmt.Errorf("businesses: * alone, or a list of ids")
			}
		} else {
			biz = strings.Join(businesses, ",")
		}
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", "", err
	}
	token = TokenPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	return token, fmt.Sprintf("%s\t%s\t%s\t%s", name, Hash(token), scopes, biz), nil
}
