package pricing

import (
	"errors"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/nyaruka/phonenumbers"
)

func TestRegionMarkets(t *testing.T) {
	tests := []struct {
		name    string
		user    string
		phone   string
		day     string
		region  string
		markets []string
	}{
		{"Brazil", "5511987654321", "", "2025-07-01", "BR", []string{"Brazil"}},
		{"Brazil with +", "+5511987654321", "", "2025-07-01", "BR", []string{"Brazil"}},
		{"US", "14155550123", "", "2025-07-01", "US", []string{"North America"}},
		{"Canada", "16135550123", "", "2025-07-01", "CA", []string{"North America"}},
		{"Dominican Republic 809", "18095550123", "", "2025-07-01", "DO", []string{"Rest of Latin America"}},
		{"Dominican Republic 829", "18295550123", "", "2025-07-01", "DO", []string{"Rest of Latin America"}},
		{"Puerto Rico 787", "17875550123", "", "2025-07-01", "PR", []string{"Rest of Latin America"}},
		{"Puerto Rico 939", "19395550123", "", "2025-07-01", "PR", []string{"Rest of Latin America"}},
		{"Jamaica 876", "18765550123", "", "2025-07-01", "JM", []string{"Rest of Latin America"}},
		{"Jamaica 658", "16585550123", "", "2025-07-01", "JM", []string{"Rest of Latin America"}},
		{"Bahamas (invalid but possible)", "12425550123", "", "2025-07-01", "BS", []string{"Other"}},
		{"Kazakhstan before 2026-10-01", "77012345678", "", "2026-09-30", "KZ", []string{"Other"}},
		{"Kazakhstan from 2026-10-01", "77012345678", "", "2026-10-01", "KZ", []string{"Kazakhstan", "Other"}},
		{"Kazakhstan 2026-11", "77012345678", "", "2026-11-01", "KZ", []string{"Kazakhstan", "Other"}},
		{"Russia", "79161234567", "", "2026-11-01", "RU", []string{"Russia"}},
		{"Zimbabwe before 2025-10-01", "263771234567", "", "2025-09-30", "ZW", []string{"Other"}},
		{"Zimbabwe from 2025-10-01", "263771234567", "", "2025-10-01", "ZW", []string{"Rest of Africa"}},
		{"India", "919876543210", "", "2023-06-01", "IN", []string{"India"}},
		{"UK (fictional range)", "447700900123", "", "2024-10-01", "GB", []string{"United Kingdom"}},
		{"Jersey shares +44", "447797123456", "", "2024-10-01", "JE", []string{"United Kingdom"}},
		{"UAE", "971501234567", "", "2025-10-01", "AE", []string{"United Arab Emirates"}},
		{"Bangladesh 2026", "8801712345678", "", "2026-10-01", "BD", []string{"Bangladesh", "Rest of Asia Pacific"}},
		{"Bangladesh 2025", "8801712345678", "", "2025-10-01", "BD", []string{"Rest of Asia Pacific"}},
		{"Ukraine 2026", "380501234567", "", "2026-10-01", "UA", []string{"Ukraine", "Rest of Central & Eastern Europe"}},
		{"Morocco 2026", "212612345678", "", "2026-10-01", "MA", []string{"Morocco", "Rest of Africa"}},
		{"Kuwait 2026", "96550012345", "", "2026-10-01", "KW", []string{"Kuwait", "Rest of Middle East"}},
		{"non-geographic +800", "80012345678", "", "2025-07-01", "001", []string{"Other"}},
		{"BSUID", "BR.123456789012345", "", "2025-07-01", "BR", []string{"Brazil"}},
		{"BSUID US", "US.13491208655302741918", "", "2025-07-01", "US", []string{"North America"}},
		{"BSUID KZ", "KZ.1", "", "2026-10-01", "KZ", []string{"Kazakhstan", "Other"}},
		{"BSUID with phone: phone wins", "US.13491208655302741918", "18095550123", "2025-07-01", "DO", []string{"Rest of Latin America"}},
		{"wa_id with phone: phone wins", "14155550123", "+5511987654321", "2025-07-01", "BR", []string{"Brazil"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			region, err := Region(tt.user, tt.phone)
			if err != nil {
				t.Fatalf("Region(%q, %q): %v", tt.user, tt.phone, err)
			}
			if region != tt.region {
				t.Errorf("Region(%q, %q) = %q, want %q", tt.user, tt.phone, region, tt.region)
			}
			if diff := cmp.Diff(tt.markets, Markets(region, tt.day)); diff != "" {
				t.Errorf("Markets(%q, %q) (-want +got):\n%s", region, tt.day, diff)
			}
		})
	}
}

func TestRegionErrors(t *testing.T) {
	tests := []struct {
		user, phone string
		want        string // substring of the reason
	}{
		{"", "", `user id "" is neither a phone number`},
		{"abc", "", `user id "abc" is neither a phone number (digits of an E.164 number) nor a BSUID (CC.alphanumeric)`},
		{"123", "", `user id "123"`},
		{"+", "", `user id "+"`},
		{"++14155550123", "", `user id "++14155550123"`},
		{"1415555012345678", "", "more than 15 digits"},
		{"XX.123", "", `unknown country "XX"`},
		{"BR.", "", `user id "BR."`},
		{"br.123", "", `user id "br.123"`},
		{"BR.12-a", "", `user id "BR.12-a"`},
		{"US.ENT.11815799212886844830", "", `user id "US.ENT.11815799212886844830"`},
		{"999999999999", "", `user id "999999999999"`},
		{"14155550123 ", "", `user id "14155550123 "`},
		{"BR.123", "abc", `phone "abc"`},
		{"BR.123", "999999999999", `phone "999999999999"`},
		{"abc", "14155550123", `user id "abc"`}, // the user id is validated even with a phone
	}
	for _, tt := range tests {
		region, err := Region(tt.user, tt.phone)
		var uerr *UserIDError
		if !errors.As(err, &uerr) {
			t.Errorf("Region(%q, %q) = %q, %v; want *UserIDError", tt.user, tt.phone, region, err)
			continue
		}
		if !strings.Contains(uerr.Reason, tt.want) || err.Error() != uerr.Reason {
			t.Errorf("Region(%q, %q) error %q, want it to contain %q", tt.user, tt.phone, err, tt.want)
		}
	}
}

func TestNormalizeUser(t *testing.T) {
	for in, want := range map[string]string{
		"5511987654321":           "5511987654321",
		"+5511987654321":          "5511987654321",
		"BR.123456789012345":      "BR.123456789012345",
		"US.13491208655302741918": "US.13491208655302741918",
	} {
		got, err := NormalizeUser(in)
		if err != nil || got != want {
			t.Errorf("NormalizeUser(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "abc", "123", "+", "XX.123", "BR.", "br.123", "999999999999"} {
		if got, err := NormalizeUser(in); err == nil {
			t.Errorf("NormalizeUser(%q) = %q, want error", in, got)
		}
	}
}

func TestIsBSUID(t *testing.T) {
	for s, want := range map[string]bool{
		"US.13491208655302741918":              true,
		"BR.1":                                 true,
		"XX.123":                               true, // shape only; NormalizeUser checks the region
		"BR.":                                  false,
		"br.123":                               false,
		"BR123":                                false,
		"B.123":                                false,
		"BRA.123":                              false,
		"BR.12a":                               true, // alphanumeric, up to 128
		"BR.1a2B3c":                            true,
		"BR." + strings.Repeat("a1", 64):       true,
		"BR." + strings.Repeat("a1", 64) + "2": false,
		"US.ENT.11815799212886844830":          false, // a parent BSUID
		"BR.12_a":                              false,
		"BR.-1":                                false,
		"5511987654321":                        false,
		"":                                     false,
	} {
		if got := IsBSUID(s); got != want {
			t.Errorf("IsBSUID(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestIsUSNumber(t *testing.T) {
	for region, want := range map[string]bool{"US": true, "CA": false, "PR": false, "": false} {
		if got := IsUSNumber(region); got != want {
			t.Errorf("IsUSNumber(%q) = %v, want %v", region, got, want)
		}
	}
}

// TestMarketTableMatchesDoc checks the ISO-region table against the calling
// codes of whatsapp-rules.md §4 (copied verbatim below): each group's regions
// must have exactly the listed codes, one region per code.
func TestMarketTableMatchesDoc(t *testing.T) {
	doc := map[string][]int32{
		"Rest of Africa": {213, 244, 229, 267, 226, 257, 237, 235, 242, 291, 251, 241, 220, 233, 245, 225, 254,
			266, 231, 218, 261, 265, 223, 222, 212, 258, 264, 227, 250, 221, 232, 252, 211, 249, 268, 255, 228, 216, 256, 260},
		"Rest of Asia Pacific":             {93, 61, 880, 855, 86, 852, 81, 856, 976, 977, 64, 675, 63, 65, 94, 886, 992, 66, 993, 998, 84},
		"Rest of Central & Eastern Europe": {355, 374, 994, 375, 359, 385, 420, 995, 30, 36, 371, 370, 373, 389, 48, 40, 381, 421, 386, 380},
		"Rest of Western Europe":           {43, 32, 45, 358, 353, 47, 351, 46, 41},
		"Rest of Latin America":            {591, 506, 1, 593, 503, 502, 509, 504, 1, 505, 507, 595, 1, 598, 58},
		"Rest of Middle East":              {973, 964, 962, 965, 961, 968, 974, 967},
		"North America":                    {1, 1},
		"Argentina":                        {54}, "Brazil": {55}, "Chile": {56}, "Colombia": {57}, "Egypt": {20},
		"France": {33}, "Germany": {49}, "India": {91}, "Indonesia": {62}, "Israel": {972}, "Italy": {39},
		"Malaysia": {60}, "Mexico": {52}, "Netherlands": {31}, "Nigeria": {234}, "Pakistan": {92}, "Peru": {51},
		"Russia": {7}, "Saudi Arabia": {966}, "South Africa": {27}, "Spain": {34}, "Turkey": {90},
		"United Arab Emirates": {971}, "United Kingdom": {44},
	}
	got := map[string][]int32{}
	for region, market := range regionMarket {
		if !phonenumbers.GetSupportedRegions()[region] {
			t.Errorf("region %q (%s) unknown to phonenumbers", region, market)
		}
		got[market] = append(got[market], int32(phonenumbers.GetCountryCodeForRegion(region)))
	}
	sortCodes := cmp.Transformer("sort", func(in []int32) []int32 {
		out := append([]int32(nil), in...)
		sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
		return out
	})
	if diff := cmp.Diff(doc, got, sortCodes); diff != "" {
		t.Errorf("market table differs from whatsapp-rules.md §4 (-doc +table):\n%s", diff)
	}
	for region, parent := range sharedCodeParent {
		if phonenumbers.GetCountryCodeForRegion(region) != phonenumbers.GetCountryCodeForRegion(parent) {
			t.Errorf("%s does not share %s's calling code", region, parent)
		}
		if _, listed := regionMarket[region]; listed {
			t.Errorf("%s is both listed and an alias", region)
		}
	}
	for region := range standalone2026 {
		if _, listed := regionMarket[region]; !listed && region != "KZ" {
			t.Errorf("2026 market %s has no previous group", region)
		}
	}
}

func TestCanonicalMarket(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"Brazil", "Brazil", true},
		{"brazil", "Brazil", true},
		{"  North   America ", "North America", true},
		{"UAE", "United Arab Emirates", true},
		{"uae", "United Arab Emirates", true},
		{"United Arab Emirates", "United Arab Emirates", true},
		{"Rest of Central & Eastern Europe", "Rest of Central & Eastern Europe", true},
		{"Rest of Central and Eastern Europe", "Rest of Central & Eastern Europe", true},
		{"rest of central&eastern europe", "Rest of Central & Eastern Europe", true},
		{"REST OF LATIN AMERICA", "Rest of Latin America", true},
		{"other", "Other", true},
		{"Kazakhstan", "Kazakhstan", true},
		{"Sri Lanka", "Sri Lanka", true},
		{"Atlantis", "", false},
		{"", "", false},
		{"Rest of Europe", "", false},
	}
	for _, tt := range tests {
		got, ok := CanonicalMarket(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("CanonicalMarket(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestKnownMarkets(t *testing.T) {
	known := KnownMarkets()
	// 24 standalone + North America + 6 "Rest of" groups + Other + 9 from 2026.
	if len(known) != 41 {
		t.Errorf("KnownMarkets() has %d names, want 41: %q", len(known), known)
	}
	if !sort.StringsAreSorted(known) {
		t.Errorf("KnownMarkets() not sorted: %q", known)
	}
	for _, name := range known {
		if c, ok := CanonicalMarket(name); !ok || c != name {
			t.Errorf("CanonicalMarket(%q) = %q, %v; want itself", name, c, ok)
		}
	}
	for _, name := range []string{"Bangladesh", "Iraq", "Nepal", "Sri Lanka", "Kazakhstan", "Kuwait", "Morocco", "Oman", "Ukraine", "Other", "North America"} {
		if i := sort.SearchStrings(known, name); i == len(known) || known[i] != name {
			t.Errorf("KnownMarkets() lacks %q", name)
		}
	}
	// Every market Markets can return is known.
	for region := range phonenumbers.GetSupportedRegions() {
		for _, day := range []string{"2022-01-01", "2026-10-01"} {
			for _, m := range Markets(region, day) {
				if _, ok := CanonicalMarket(m); !ok {
					t.Errorf("Markets(%q, %q) returns unknown market %q", region, day, m)
				}
			}
		}
	}
}
