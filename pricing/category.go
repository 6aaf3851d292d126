package pricing

import (
	"strconv"
	"strings"
)

// Category is a rate-card / charge category. The numeric values equal the
// API enum convstate.v1.ChargeCategory so that the server can convert with a
// plain cast; do not renumber.
type Category int32

// Categories of every pricing era (whatsapp-rules.md §3): Template for
// per-template (notification) pricing until 2022-01-31, BusinessInitiated and
// UserInitiated for conversation-based pricing v1 (2022-02-01 → 2023-05-31),
// and Marketing, Utility, Authentication, AuthenticationInternational and
// Service from 2023-06-01.
const (
	CategoryUnspecified         Category = 0
	Marketing                   Category = 1
	Utility                     Category = 2
	Authentication              Category = 3
	AuthenticationInternational Category = 4
	Service                     Category = 5
	BusinessInitiated           Category = 6
	UserInitiated               Category = 7
	Template                    Category = 8 // per-template (notification) pricing before 2022-02-01
)

// categoryNames are the rate-card spellings, indexed by Category.
var categoryNames = [...]string{
	CategoryUnspecified:         "unspecified",
	Marketing:                   "marketing",
	Utility:                     "utility",
	Authentication:              "authentication",
	AuthenticationInternational: "authentication_international",
	Service:                     "service",
	BusinessInitiated:           "business_initiated",
	UserInitiated:               "user_initiated",
	Template:                    "template",
}

// ParseCategory parses a rate-card category name, case-insensitively and
// ignoring surrounding spaces. "authentication-international" is accepted
// too because Meta's documents use both spellings. "unspecified" is not a
// category a card can price, so it is rejected.
func ParseCategory(s string) (Category, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "authentication-international" {
		return AuthenticationInternational, true
	}
	for c, name := range categoryNames {
		if c != int(CategoryUnspecified) && name == s {
			return Category(c), true
		}
	}
	return CategoryUnspecified, false
}

// String returns the rate-card name of c ("marketing", ...), "unspecified"
// for 0, and "Category(n)" for values outside the enum.
func (c Category) String() string {
	if c >= 0 && int(c) < len(categoryNames) {
		return categoryNames[c]
	}
	return "Category(" + strconv.Itoa(int(c)) + ")"
}
