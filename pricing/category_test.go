package pricing

import "testing"

func TestParseCategory(t *testing.T) {
	tests := []struct {
		in   string
		want Category
		ok   bool
	}{
		{"marketing", Marketing, true},
		{"utility", Utility, true},
		{"authentication", Authentication, true},
		{"authentication_international", AuthenticationInternational, true},
		{"authentication-international", AuthenticationInternational, true},
		{"service", Service, true},
		{"business_initiated", BusinessInitiated, true},
		{"user_initiated", UserInitiated, true},
		{"template", Template, true},
		{"  Marketing ", Marketing, true},
		{"AUTHENTICATION-INTERNATIONAL", AuthenticationInternational, true},
		{"Business_Initiated", BusinessInitiated, true},
		{"unspecified", CategoryUnspecified, false},
		{"", CategoryUnspecified, false},
		{"marketing_lite", CategoryUnspecified, false},
		{"auth", CategoryUnspecified, false},
		{"business initiated", CategoryUnspecified, false},
	}
	for _, tt := range tests {
		got, ok := ParseCategory(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ParseCategory(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestCategoryString(t *testing.T) {
	// The numeric values are the API enum convstate.v1.ChargeCategory.
	tests := []struct {
		c    Category
		num  int32
		want string
	}{
		{CategoryUnspecified, 0, "unspecified"},
		{Marketing, 1, "marketing"},
		{Utility, 2, "utility"},
		{Authentication, 3, "authentication"},
		{AuthenticationInternational, 4, "authentication_international"},
		{Service, 5, "service"},
		{BusinessInitiated, 6, "business_initiated"},
		{UserInitiated, 7, "user_initiated"},
		{Template, 8, "template"},
		{Category(99), 99, "Category(99)"},
		{Category(-1), -1, "Category(-1)"},
	}
	for _, tt := range tests {
		if int32(tt.c) != tt.num {
			t.Errorf("%v = %d, want %d", tt.c, int32(tt.c), tt.num)
		}
		if got := tt.c.String(); got != tt.want {
			t.Errorf("Category(%d).String() = %q, want %q", tt.num, got, tt.want)
		}
		if tt.c > 0 && tt.c <= Template {
			if back, ok := ParseCategory(tt.c.String()); !ok || back != tt.c {
				t.Errorf("ParseCategory(%q) = %v, %v; want round trip", tt.c.String(), back, ok)
			}
		}
	}
}
