package pricing

import (
	"math"
	"strings"
	"testing"
)

func TestParseAmount(t *testing.T) {
	tests := []struct {
		in   string
		want Nanos
		str  string // String() of the result: the minimal form
	}{
		{"0.0625", 62_500_000, "0.0625"},
		{"12", 12_000_000_000, "12"},
		{"0.000000001", 1, "0.000000001"},
		{"0", 0, "0"},
		{"0.0", 0, "0"},
		{"1.25", 1_250_000_000, "1.25"},
		{"1.250000000", 1_250_000_000, "1.25"},
		{"007.50", 7_500_000_000, "7.5"},
		{"0.1360", 136_000_000, "0.136"},
		{"9223372036.854775807", math.MaxInt64, "9223372036.854775807"},
	}
	for _, tt := range tests {
		got, err := ParseAmount(tt.in)
		if err != nil {
			t.Errorf("ParseAmount(%q): %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("ParseAmount(%q) = %d, want %d", tt.in, got, tt.want)
		}
		if s := got.String(); s != tt.str {
			t.Errorf("ParseAmount(%q).String() = %q, want %q", tt.in, s, tt.str)
		}
		back, err := ParseAmount(got.String())
		if err != nil || back != got {
			t.Errorf("round trip %q -> %q -> %d, %v", tt.in, got.String(), back, err)
		}
	}
}

func TestParseAmountErrors(t *testing.T) {
	for _, in := range []string{
		"", " ", "-1", "+1", "1e3", "1E3", " 1", "1 ", "1,5", "1.000,00", "$1",
		".5", "1.", ".", "1.2.3", "0.0000000001", "abc", "0x10", "１",
		"9223372036.854775808", "9223372037", "99999999999999999999",
	} {
		got, err := ParseAmount(in)
		if err == nil {
			t.Errorf("ParseAmount(%q) = %d, want error", in, got)
			continue
		}
		if !strings.Contains(err.Error(), `"`+in+`"`) {
			t.Errorf("ParseAmount(%q) error %q does not name the input", in, err)
		}
	}
}

func TestNanosString(t *testing.T) {
	tests := []struct {
		n    Nanos
		want string
	}{
		{0, "0"},
		{1, "0.000000001"},
		{62_500_000, "0.0625"},
		{1_250_000_000, "1.25"},
		{12_000_000_000, "12"},
		{-62_500_000, "-0.0625"},
		{-12_000_000_000, "-12"},
		{math.MaxInt64, "9223372036.854775807"},
		{math.MinInt64, "-9223372036.854775808"},
	}
	for _, tt := range tests {
		if got := tt.n.String(); got != tt.want {
			t.Errorf("Nanos(%d).String() = %q, want %q", int64(tt.n), got, tt.want)
		}
	}
}
