package pricing

import (
	"fmt"
	"sort"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// UserIDError reports a user id (or phone number) that cannot be priced
// because no market can be derived from it.
type UserIDError struct {
	User   string // the rejected input
	Reason string // what is wrong, naming the input
}

func (e *UserIDError) Error() string { return e.Reason }

// Region returns the ISO 3166 region ("BR", "US", "KZ", ...) of a recipient.
//
// user is a wa_id (digits of the E.164 number, one leading "+" tolerated) or
// a BSUID ("US.13491208655302741918"); it is validated like NormalizeUser.
// phone, when non-empty, is the E.164 digits of the user's number and takes
// precedence: a BSUID only carries a country, while Meta prices +1 by area
// code, so callers pass the number when they know it.
//
// A number is accepted when phonenumbers parses it, it is a possible number
// and its calling code is assigned. Its region is the one phonenumbers
// assigns to the number (for +1 and +7 that is decided by the area code /
// leading digits, which splits the Caribbean from the US and Kazakhstan from
// Russia); when the number is not valid in any region (fictional but
// possible numbers such as 555 numbers) it is the main region of the calling
// code, so that such numbers still price. Non-geographic calling codes
// (+800, +882, ...) yield "001", which no market lists and so prices as Other.
func Region(user, phone string) (string, error) {
	if _, err := NormalizeUser(user); err != nil {
		return "", err
	}
	if phone != "" {
		_, region, err := parseNumber(phone)
		if err != nil {
			return "", &UserIDError{User: phone, Reason: fmt.Sprintf("phone %q is not the digits of a possible E.164 number: %s", phone, err)}
		}
		return region, nil
	}
	if IsBSUID(user) {
		return user[:2], nil
	}
	_, region, err := parseNumber(user)
	return region, err
}

// Recipient validates a user id (and the optional phone number of a BSUID user)
// once, returning the normalized id (as NormalizeUser) and the region (as Region).
func Recipient(user, phone string) (normalized, region string, err error) {
	if phone == "" && !IsBSUID(user) { // a wa_id: one parse gives both
		return normalizeNumber(user)
	}
	if normalized, err = NormalizeUser(user); err != nil {
		return "", "", err
	}
	if phone == "" { // a BSUID, whose letters name its country
		return normalized, normalized[:2], nil
	}
	if _, region, err = parseNumber(phone); err != nil {
		return "", "", &UserIDError{User: phone, Reason: fmt.Sprintf("phone %q is not the digits of a possible E.164 number: %s", phone, err)}
	}
	return normalized, region, nil
}

// NormalizeUser returns the canonical form of a user id: the digits of a
// wa_id without a leading "+", or the BSUID unchanged. It applies the same
// validation as Region, so that one user is stored under one key.
func NormalizeUser(user string) (string, error) {
	if IsBSUID(user) {
		if !phonenumbers.GetSupportedRegions()[user[:2]] {
			return "", &UserIDError{User: user, Reason: fmt.Sprintf("user id %q is a BSUID with unknown country %q", user, user[:2])}
		}
		return user, nil
	}
	digits, _, err := normalizeNumber(user)
	return digits, err
}

// normalizeNumber is NormalizeUser for a user id that is not a BSUID, with its region.
func normalizeNumber(user string) (digits, region string, err error) {
	digits, region, err = parseNumber(user)
	if err != nil {
		return "", "", &UserIDError{User: user, Reason: fmt.Sprintf("user id %q is neither a phone number (digits of an E.164 number) nor a BSUID (CC.alphanumeric): %s", user, err)}
	}
	return digits, region, nil
}

// MaxBSUIDLen is the longest business-scoped user id: the country, the dot and up to
// 128 alphanumeric characters (360dialog "Usernames & BSUID"; Sinch and 8x8 also say
// alphanumeric). Every one seen so far is digits, but the format allows letters.
const MaxBSUIDLen = 3 + 128

// IsBSUID reports whether s has the shape of a business-scoped user id: two
// upper-case ASCII letters, a dot, and 1 to 128 ASCII letters and digits. A parent
// BSUID ("US.ENT.1181…", shared across an enterprise's portfolios) is not one: it
// names no single business's user. It does not check that the letters name a known
// region (NormalizeUser does).
func IsBSUID(s string) bool {
	if len(s) < 4 || len(s) > MaxBSUIDLen || s[2] != '.' {
		return false
	}
	for i := 0; i < 2; i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	for i := 3; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z') {
			return false
		}
	}
	return true
}

// IsUSNumber reports whether region is "US"; marketing templates to US
// numbers are paused from 2025-04-01 (whatsapp-rules.md §3.8), which the
// engine reports as a warning. Canada and the Caribbean share +1 but are not
// affected, which is why this takes a region, not a calling code.
func IsUSNumber(region string) bool { return region == "US" }

func parseNumberUncached(s string) (digits, region string, err error) {
	digits = strings.TrimPrefix(s, "+")
	switch {
	case digits == "":
		return "", "", fmt.Errorf("it has no digits")
	case !allDigits(digits):
		return "", "", fmt.Errorf("it contains characters other than digits")
	case len(digits) > 15:
		return "", "", fmt.Errorf("it has more than 15 digits")
	}
	num, perr := phonenumbers.Parse("+"+digits, "ZZ")
	if perr != nil {
		return "", "", fmt.Errorf("it is not a phone number (%v)", perr)
	}
	cc := int(num.GetCountryCode())
	if cc == 52 {
		// Meta's wa_id of a Mexican mobile keeps the "1" that Mexico dropped from its
		// numbering in 2019 (52 1 + ten digits: the form WhatsApp webhooks carry; see
		// chatwoot/chatwoot#14926), which libphonenumber no longer finds possible. The
		// number is judged without it; the user id stays as Meta spells it.
		if n := phonenumbers.GetNationalSignificantNumber(num); len(n) == 11 && n[0] == '1' {
			if m, err := phonenumbers.Parse("+52"+n[1:], "ZZ"); err == nil {
				num = m
			}
		}
	}
	if phonenumbers.GetRegionCodeForCountryCode(cc) == phonenumbers.UNKNOWN_REGION {
		return "", "", fmt.Errorf("calling code of +%s is not assigned", digits)
	}
	if !phonenumbers.IsPossibleNumber(num) {
		return "", "", fmt.Errorf("+%s is not a possible number for calling code +%d", digits, cc)
	}
	// GetRegionCodeForNumber decides shared calling codes by leading digits
	// (e.g. +1 809 -> DO) even for numbers that fail full validation, and
	// returns "" only when no region claims the number.
	region = phonenumbers.GetRegionCodeForNumber(num)
	if region == "" || region == phonenumbers.UNKNOWN_REGION {
		region = phonenumbers.GetRegionCodeForCountryCode(cc)
		// +7 is shared by Russia and Kazakhstan, whose zone codes start with 6 or
		// 7 (design.md §2 "Markets"); the library's metadata misses some of them
		// (e.g. +7 6xx), and a Kazakh number must never be priced as Russia.
		if cc == 7 {
			if n := phonenumbers.GetNationalSignificantNumber(num); n != "" && (n[0] == '6' || n[0] == '7') {
				region = "KZ"
			}
		}
	}
	return digits, region, nil
}

// Canonical market names, spelled as in Meta's market table
// (whatsapp-rules.md §4), except "United Arab Emirates" for "UAE", which is
// the spelling of Meta's rate-card CSV.
const (
	marketNorthAmerica  = "North America"
	marketRestOfAfrica  = "Rest of Africa"
	marketRestOfAPAC    = "Rest of Asia Pacific"
	marketRestOfCEE     = "Rest of Central & Eastern Europe"
	marketRestOfWEurope = "Rest of Western Europe"
	marketRestOfLatAm   = "Rest of Latin America"
	marketRestOfMidEast = "Rest of Middle East"
	// MarketOther is Meta's market for every region not listed elsewhere.
	MarketOther = "Other"
)

// Dates of market changes (whatsapp-rules.md §1, §4).
const (
	zimbabweToAfricaFrom = "2025-10-01" // Zimbabwe: Other -> Rest of Africa, CONFIRMED (BSP) [S30a]
	standaloneFrom2026   = "2026-10-01" // nine standalone markets, UNCERTAIN [S37a]
)

// regionMarket maps ISO regions to Meta's market (whatsapp-rules.md §4,
// CONFIRMED [S1]); a region not listed is Other. The doc lists calling
// codes; each was converted to the ISO region phonenumbers uses for it, and
// market_test.go checks every conversion against the calling code.
var regionMarket = map[string]string{
	// Standalone countries.
	"AR": "Argentina", "BR": "Brazil", "CL": "Chile", "CO": "Colombia",
	"EG": "Egypt", "FR": "France", "DE": "Germany", "IN": "India",
	"ID": "Indonesia", "IL": "Israel", "IT": "Italy", "MY": "Malaysia",
	"MX": "Mexico", "NL": "Netherlands", "NG": "Nigeria", "PK": "Pakistan",
	"PE": "Peru", "RU": "Russia", "SA": "Saudi Arabia", "ZA": "South Africa",
	"ES": "Spain", "TR": "Turkey", "AE": "United Arab Emirates", "GB": "United Kingdom",
	// North America: +1 US and Canada only; other +1 regions are below or Other.
	"US": marketNorthAmerica, "CA": marketNorthAmerica,
	// Rest of Africa (Zimbabwe is dated, see Markets).
	"DZ": marketRestOfAfrica, "AO": marketRestOfAfrica, "BJ": marketRestOfAfrica, "BW": marketRestOfAfrica,
	"BF": marketRestOfAfrica, "BI": marketRestOfAfrica, "CM": marketRestOfAfrica, "TD": marketRestOfAfrica,
	"CG": marketRestOfAfrica, "ER": marketRestOfAfrica, "ET": marketRestOfAfrica, "GA": marketRestOfAfrica,
	"GM": marketRestOfAfrica, "GH": marketRestOfAfrica, "GW": marketRestOfAfrica, "CI": marketRestOfAfrica,
	"KE": marketRestOfAfrica, "LS": marketRestOfAfrica, "LR": marketRestOfAfrica, "LY": marketRestOfAfrica,
	"MG": marketRestOfAfrica, "MW": marketRestOfAfrica, "ML": marketRestOfAfrica, "MR": marketRestOfAfrica,
	"MA": marketRestOfAfrica, "MZ": marketRestOfAfrica, "NA": marketRestOfAfrica, "NE": marketRestOfAfrica,
	"RW": marketRestOfAfrica, "SN": marketRestOfAfrica, "SL": marketRestOfAfrica, "SO": marketRestOfAfrica,
	"SS": marketRestOfAfrica, "SD": marketRestOfAfrica, "SZ": marketRestOfAfrica, "TZ": marketRestOfAfrica,
	"TG": marketRestOfAfrica, "TN": marketRestOfAfrica, "UG": marketRestOfAfrica, "ZM": marketRestOfAfrica,
	// Rest of Asia Pacific.
	"AF": marketRestOfAPAC, "AU": marketRestOfAPAC, "BD": marketRestOfAPAC, "KH": marketRestOfAPAC,
	"CN": marketRestOfAPAC, "HK": marketRestOfAPAC, "JP": marketRestOfAPAC, "LA": marketRestOfAPAC,
	"MN": marketRestOfAPAC, "NP": marketRestOfAPAC, "NZ": marketRestOfAPAC, "PG": marketRestOfAPAC,
	"PH": marketRestOfAPAC, "SG": marketRestOfAPAC, "LK": marketRestOfAPAC, "TW": marketRestOfAPAC,
	"TJ": marketRestOfAPAC, "TH": marketRestOfAPAC, "TM": marketRestOfAPAC, "UZ": marketRestOfAPAC,
	"VN": marketRestOfAPAC,
	// Rest of Central & Eastern Europe.
	"AL": marketRestOfCEE, "AM": marketRestOfCEE, "AZ": marketRestOfCEE, "BY": marketRestOfCEE,
	"BG": marketRestOfCEE, "HR": marketRestOfCEE, "CZ": marketRestOfCEE, "GE": marketRestOfCEE,
	"GR": marketRestOfCEE, "HU": marketRestOfCEE, "LV": marketRestOfCEE, "LT": marketRestOfCEE,
	"MD": marketRestOfCEE, "MK": marketRestOfCEE, "PL": marketRestOfCEE, "RO": marketRestOfCEE,
	"RS": marketRestOfCEE, "SK": marketRestOfCEE, "SI": marketRestOfCEE, "UA": marketRestOfCEE,
	// Rest of Western Europe.
	"AT": marketRestOfWEurope, "BE": marketRestOfWEurope, "DK": marketRestOfWEurope,
	"FI": marketRestOfWEurope, "IE": marketRestOfWEurope, "NO": marketRestOfWEurope,
	"PT": marketRestOfWEurope, "SE": marketRestOfWEurope, "CH": marketRestOfWEurope,
	// Rest of Latin America, incl. the +1 regions DO, JM and PR.
	"BO": marketRestOfLatAm, "CR": marketRestOfLatAm, "DO": marketRestOfLatAm, "EC": marketRestOfLatAm,
	"SV": marketRestOfLatAm, "GT": marketRestOfLatAm, "HT": marketRestOfLatAm, "HN": marketRestOfLatAm,
	"JM": marketRestOfLatAm, "NI": marketRestOfLatAm, "PA": marketRestOfLatAm, "PY": marketRestOfLatAm,
	"PR": marketRestOfLatAm, "UY": marketRestOfLatAm, "VE": marketRestOfLatAm,
	// Rest of Middle East.
	"BH": marketRestOfMidEast, "IQ": marketRestOfMidEast, "JO": marketRestOfMidEast, "KW": marketRestOfMidEast,
	"LB": marketRestOfMidEast, "OM": marketRestOfMidEast, "QA": marketRestOfMidEast, "YE": marketRestOfMidEast,
}

// sharedCodeParent maps regions that share a listed country's calling code
// (and are not themselves listed) to that country. Meta prices by calling
// code (§4 [S1][S11]), so a Jersey number (+44 7797) is priced like the UK.
// The exceptions are deliberate and not here: the +1 regions, which Meta
// splits by area code, and Kazakhstan (+7), which is not Russia (design.md §2).
var sharedCodeParent = map[string]string{
	"GG": "GB", "IM": "GB", "JE": "GB", // +44
	"CC": "AU", "CX": "AU", // +61
	"SJ": "NO", // +47
	"AX": "FI", // +358
	"VA": "IT", // +39 (Vatican also has +379, unused)
	"EH": "MA", // +212
}

// standalone2026 are the nine markets that get their own rates from
// 2026-10-01 (§1, §4; UNCERTAIN per the doc, hence Markets keeps the previous
// group as a fallback and only a rate card can make them matter).
var standalone2026 = map[string]string{
	"BD": "Bangladesh", "IQ": "Iraq", "NP": "Nepal", "LK": "Sri Lanka",
	"KZ": "Kazakhstan", "KW": "Kuwait", "MA": "Morocco", "OM": "Oman",
	"UA": "Ukraine",
}

// Markets returns the Meta pricing markets a recipient in region falls into
// on day ("YYYY-MM-DD" in the business's time zone), most specific first.
// The engine uses the first one the rate card in force prices, else the
// last one. The list has two entries only from 2026-10-01 for the nine new
// standalone markets, whose own rates are unconfirmed: until a card prices
// "Kazakhstan", a Kazakh number keeps its previous market ("Other").
func Markets(region, day string) []string {
	if parent, ok := sharedCodeParent[region]; ok {
		region = parent
	}
	group, ok := regionMarket[region]
	if !ok {
		group = MarketOther
	}
	if region == "ZW" && day >= zimbabweToAfricaFrom {
		group = marketRestOfAfrica // CONFIRMED (BSP) [S30a]
	}
	if own, ok := standalone2026[region]; ok && day >= standaloneFrom2026 {
		return []string{own, group}
	}
	return []string{group}
}

// marketKey normalises a market name for comparison: lower case, "&" and
// "and" equivalent, runs of spaces collapsed.
func marketKey(name string) string {
	name = strings.ToLower(strings.ReplaceAll(name, "&", " and "))
	return strings.Join(strings.Fields(name), " ")
}

// canonicalByKey maps marketKey(name) to the canonical name for every known
// market and alias.
var canonicalByKey = func() map[string]string {
	m := map[string]string{marketKey("UAE"): "United Arab Emirates"}
	add := func(name string) { m[marketKey(name)] = name }
	for _, name := range regionMarket {
		add(name)
	}
	for _, name := range standalone2026 {
		add(name)
	}
	add(MarketOther)
	return m
}()

// CanonicalMarket maps a market name as written in a rate card to the
// canonical name: case-insensitive, surrounding/duplicate spaces ignored,
// "&" and "and" equivalent, "UAE" = "United Arab Emirates". ok is false for
// names that are not markets.
func CanonicalMarket(name string) (canonical string, ok bool) {
	canonical, ok = canonicalByKey[marketKey(name)]
	return canonical, ok
}

// KnownMarkets lists the canonical market names, including the nine
// standalone markets of 2026-10-01, sorted.
func KnownMarkets() []string {
	seen := map[string]bool{}
	var out []string
	for _, name := range canonicalByKey {
		if !seen[name] {
			seen[name] = true
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}
