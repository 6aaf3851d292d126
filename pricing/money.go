package pricing

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Nanos is an exact amount of money in nano-units (1e-9) of a currency.
//
// Rates such as 0.0625 USD are not representable in binary floating point,
// and charges are summed over millions of messages, so every amount in the
// service is an integer count of nano-units. Never convert to float64.
type Nanos int64

// nanosPerUnit is the number of nano-units in one unit of currency.
const nanosPerUnit = 1_000_000_000

// maxFractionDigits is the precision of Nanos: 9 decimal places.
const maxFractionDigits = 9

// ParseAmount parses a plain, non-negative decimal such as "0.0625" or "12"
// into nano-units. It accepts at most 9 fractional digits and nothing but
// ASCII digits and one decimal point (no sign, exponent, spaces, thousands
// separators or currency symbols), because rate cards are data typed or
// exported by people and a lenient parser would silently misread "1,5".
// An amount that does not fit in Nanos is an error.
func ParseAmount(s string) (Nanos, error) {
	intPart, fracPart, hasPoint := strings.Cut(s, ".")
	switch {
	case s == "":
		return 0, fmt.Errorf("amount %q is empty", s)
	case intPart == "" || (hasPoint && fracPart == ""):
		return 0, fmt.Errorf("amount %q is not a plain decimal (digits on both sides of the point)", s)
	case !allDigits(intPart) || !allDigits(fracPart):
		return 0, fmt.Errorf("amount %q is not a plain decimal (only digits and one '.')", s)
	case len(fracPart) > maxFractionDigits:
		return 0, fmt.Errorf("amount %q has more than %d fractional digits", s, maxFractionDigits)
	}
	whole, err := strconv.ParseInt(intPart, 10, 64)
	if err != nil || whole > math.MaxInt64/nanosPerUnit {
		return 0, fmt.Errorf("amount %q is too large", s)
	}
	var frac int64
	if fracPart != "" {
		// Right-pad to 9 digits: "0625" -> "062500000".
		frac, _ = strconv.ParseInt(fracPart+strings.Repeat("0", maxFractionDigits-len(fracPart)), 10, 64)
	}
	n := whole * nanosPerUnit
	if n > math.MaxInt64-frac {
		return 0, fmt.Errorf("amount %q is too large", s)
	}
	return Nanos(n + frac), nil
}

// String formats n as a minimal decimal ("0.0625", "12", "0"), the inverse
// of ParseAmount; negative amounts (differences, refunds) get a leading "-".
func (n Nanos) String() string {
	neg := n < 0
	u := uint64(n)
	if neg {
		u = -u // two's complement: correct even for math.MinInt64
	}
	whole, frac := u/nanosPerUnit, u%nanosPerUnit
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	b.WriteString(strconv.FormatUint(whole, 10))
	if frac != 0 {
		f := fmt.Sprintf("%09d", frac)
		b.WriteByte('.')
		b.WriteString(strings.TrimRight(f, "0"))
	}
	return b.String()
}

// allDigits reports whether s consists only of ASCII digits ("" counts).
func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
