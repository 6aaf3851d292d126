package replay

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	convstatev1 "github.com/convstate/convstate/gen/go/convstate/v1"
)

func TestSkip(t *testing.T) {
	for _, tc := range []struct {
		line string
		skip bool
	}{
		{"", true},
		{"\n", true},
		{"\r\n", true},
		{" \t ", true},
		{"# comment", true},
		{"   # indented comment", true},
		{"#", true},
		{`{"type":"check"}`, false},
		{` {"type":"check"} # trailing`, false},
		{"x", false},
	} {
		if got := Skip([]byte(tc.line)); got != tc.skip {
			t.Errorf("Skip(%q) = %v, want %v", tc.line, got, tc.skip)
		}
	}
}

func ts(s string) *timestamppb.Timestamp {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return timestamppb.New(t)
}

// TestParse: every input type of the format (issue 4, README "Replay"), with the
// optional fields; unknown fields such as "note" are ignored.
func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name, line string
		want       *Parsed
	}{
		{"business", `{"type":"business","business":"b1","timezone":"America/Sao_Paulo","currency":"brl","waba":"W","portfolio":"P","primary_country":"BR","auth_international_start":"2024-01-01T00:00:00Z","note":"x"}`,
			&Parsed{Kind: KindBusiness, Business: &convstatev1.BusinessProfile{BusinessId: "b1", TimeZone: "America/Sao_Paulo", Currency: "brl",
				WabaId: "W", PortfolioId: "P", PrimaryCountry: "BR", AuthInternationalStart: ts("2024-01-01T00:00:00Z")}}},
		{"business defaults", `{"type":"business","business":"b1"}`,
			&Parsed{Kind: KindBusiness, Business: &convstatev1.BusinessProfile{BusinessId: "b1"}}},
		{"user_message", `{"type":"user_message","business":"b1","user":"US.123","id":"u1","at":"2025-08-04T10:00:00.5-03:00","entry_point":"ctwa_ad","phone":"18095551234","note":"ignored","extra":{"nested":[1]}}`,
			&Parsed{Kind: KindFact, Fact: &convstatev1.Fact{Kind: &convstatev1.Fact_UserMessage{UserMessage: &convstatev1.UserMessage{
				BusinessId: "b1", UserId: "US.123", MessageId: "u1", Timestamp: ts("2025-08-04T13:00:00.5Z"),
				EntryPoint: convstatev1.EntryPoint_ENTRY_POINT_CLICK_TO_WHATSAPP_AD, UserPhone: "18095551234"}}}}},
		{"user_message page_cta", `{"type":"user_message","business":"b1","user":"1","id":"u1","at":"2025-08-04T10:00:00Z","entry_point":"page_cta"}`,
			&Parsed{Kind: KindFact, Fact: &convstatev1.Fact{Kind: &convstatev1.Fact_UserMessage{UserMessage: &convstatev1.UserMessage{
				BusinessId: "b1", UserId: "1", MessageId: "u1", Timestamp: ts("2025-08-04T10:00:00Z"),
				EntryPoint: convstatev1.EntryPoint_ENTRY_POINT_PAGE_CTA}}}}},
		{"user_call", `{"type":"user_call","business":"b1","user":"5511987650001","id":"c1","at":"2025-08-04T10:00:00Z"}`,
			&Parsed{Kind: KindFact, Fact: &convstatev1.Fact{Kind: &convstatev1.Fact_UserCall{UserCall: &convstatev1.UserCall{
				BusinessId: "b1", UserId: "5511987650001", CallId: "c1", Timestamp: ts("2025-08-04T10:00:00Z")}}}}},
		{"send free-form", `{"type":"send","business":"b1","user":"5511987650001","id":"m1","at":"2025-08-04T10:00:00Z"}`,
			&Parsed{Kind: KindFact, Fact: &convstatev1.Fact{Kind: &convstatev1.Fact_BusinessMessage{BusinessMessage: &convstatev1.BusinessMessage{
				BusinessId: "b1", UserId: "5511987650001", MessageId: "m1", Timestamp: ts("2025-08-04T10:00:00Z")}}}}},
		{"send template, any case", `{"type":"send","business":"b1","user":"5511987650001","id":"m1","at":"2025-08-04T10:00:00Z","template":"Authentication_International"}`,
			&Parsed{Kind: KindFact, Fact: &convstatev1.Fact{Kind: &convstatev1.Fact_BusinessMessage{BusinessMessage: &convstatev1.BusinessMessage{
				BusinessId: "b1", UserId: "5511987650001", MessageId: "m1", Timestamp: ts("2025-08-04T10:00:00Z"),
				Template: convstatev1.TemplateCategory_TEMPLATE_CATEGORY_AUTHENTICATION_INTERNATIONAL}}}}},
		{"status failed, error_code as a number", `{"type":"status","business":"b1","id":"m1","status":"failed","at":"2025-08-04T10:00:00Z","error_code":131047}`,
			&Parsed{Kind: KindFact, Fact: &convstatev1.Fact{Kind: &convstatev1.Fact_Status{Status: &convstatev1.StatusUpdate{
				BusinessId: "b1", MessageId: "m1", Status: convstatev1.MessageStatus_MESSAGE_STATUS_FAILED, Timestamp: ts("2025-08-04T10:00:00Z"), ErrorCode: 131047}}}}},
		{"status, error_code as a string", `{"type":"status","business":"b1","id":"m1","status":"failed","at":"2025-08-04T10:00:00Z","error_code":"131047"}`,
			&Parsed{Kind: KindFact, Fact: &convstatev1.Fact{Kind: &convstatev1.Fact_Status{Status: &convstatev1.StatusUpdate{
				BusinessId: "b1", MessageId: "m1", Status: convstatev1.MessageStatus_MESSAGE_STATUS_FAILED, Timestamp: ts("2025-08-04T10:00:00Z"), ErrorCode: 131047}}}}},
		{"status, error_code null", `{"type":"status","business":"b1","id":"m1","status":"read","at":"2025-08-04T10:00:00Z","error_code":null}`,
			&Parsed{Kind: KindFact, Fact: &convstatev1.Fact{Kind: &convstatev1.Fact_Status{Status: &convstatev1.StatusUpdate{
				BusinessId: "b1", MessageId: "m1", Status: convstatev1.MessageStatus_MESSAGE_STATUS_READ, Timestamp: ts("2025-08-04T10:00:00Z")}}}}},
		{"status sent", `{"type":"status","business":"b1","id":"m1","status":"sent","at":"2025-08-04T10:00:00Z"}`,
			&Parsed{Kind: KindFact, Fact: &convstatev1.Fact{Kind: &convstatev1.Fact_Status{Status: &convstatev1.StatusUpdate{
				BusinessId: "b1", MessageId: "m1", Status: convstatev1.MessageStatus_MESSAGE_STATUS_SENT, Timestamp: ts("2025-08-04T10:00:00Z")}}}}},
		{"status delivered", `{"type":"status","business":"b1","id":"m1","status":"delivered","at":"2025-08-04T10:00:00Z"}`,
			&Parsed{Kind: KindFact, Fact: &convstatev1.Fact{Kind: &convstatev1.Fact_Status{Status: &convstatev1.StatusUpdate{
				BusinessId: "b1", MessageId: "m1", Status: convstatev1.MessageStatus_MESSAGE_STATUS_DELIVERED, Timestamp: ts("2025-08-04T10:00:00Z")}}}}},
		{"check without time (now)", `{"type":"check","business":"b1","user":"5511987650001"}`,
			&Parsed{Kind: KindCheck, Check: &convstatev1.DecideRequest{BusinessId: "b1", UserId: "5511987650001"}}},
		{"check", `{"type":"check","business":"b1","user":"US.1","at":"2025-08-04T10:00:00Z","template":"utility","phone":"12024561111"}`,
			&Parsed{Kind: KindCheck, Check: &convstatev1.DecideRequest{BusinessId: "b1", UserId: "US.1", Time: ts("2025-08-04T10:00:00Z"),
				Template: convstatev1.TemplateCategory_TEMPLATE_CATEGORY_UTILITY, UserPhone: "12024561111"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse([]byte(tc.line))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if d := cmp.Diff(tc.want, got, protocmp.Transform()); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

// TestParseErrors: a line that is not a valid input is a *ParseError whose message
// names the problem (the replay reports it as InvalidArgument and goes on).
func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ line, want string }{
		{`not json`, "not a valid input object"},
		{`{"type":"user_message"`, "not a valid input object: unexpected end of JSON input"},
		{`["type"]`, "not a valid input object"},
		{`{"type":""}`, `"type" is required`},
		{`{"business":"b1"}`, `"type" is required`},
		{`{"type":"reaction"}`, `unknown "type" "reaction"`},
		{`{"type":"USER_MESSAGE","at":"2025-08-04T10:00:00Z"}`, `unknown "type" "USER_MESSAGE"`},
		{`{"type":"user_message","business":"b1"}`, `"at" is required`},
		{`{"type":"status","id":"m1","status":"delivered"}`, `"at" is required`},
		{`{"type":"send","at":"2025-08-04 10:00:00"}`, `"at" "2025-08-04 10:00:00" is not an RFC 3339 time`},
		{`{"type":"send","at":"1754300000"}`, `is not an RFC 3339 time`},
		{`{"type":"check","at":"tomorrow"}`, `"at" "tomorrow" is not an RFC 3339 time`},
		{`{"type":"send","at":"2025-08-04T10:00:00Z","template":"promo"}`, `"template" "promo" is not a category`},
		{`{"type":"check","template":"service"}`, `"template" "service" is not a category`},
		{`{"type":"user_message","at":"2025-08-04T10:00:00Z","entry_point":"qr"}`, `"entry_point" "qr" is not ctwa_ad or page_cta`},
		{`{"type":"status","at":"2025-08-04T10:00:00Z","status":"seen"}`, `"status" "seen" is not sent, delivered, read or failed`},
		{`{"type":"status","at":"2025-08-04T10:00:00Z"}`, `"status" "" is not sent`},
		{`{"type":"status","at":"2025-08-04T10:00:00Z","status":"failed","error_code":"abc"}`, `error_code "abc" is not an integer`},
		{`{"type":"status","at":"2025-08-04T10:00:00Z","status":"failed","error_code":1.5}`, `error_code 1.5 is not an integer`},
		{`{"type":"status","at":"2025-08-04T10:00:00Z","status":"failed","error_code":2147483648}`, `error_code 2147483648 is not an integer`},
		{`{"type":"business","business":"b1","auth_international_start":"2024-01-01"}`, `"auth_international_start" "2024-01-01" is not an RFC 3339 time`},
		{`{"type":"user_message","business":7,"at":"2025-08-04T10:00:00Z"}`, "not a valid input object"},
	} {
		_, err := Parse([]byte(tc.line))
		pe, ok := err.(*ParseError)
		if !ok {
			t.Errorf("Parse(%s) = %v, want a *ParseError", tc.line, err)
			continue
		}
		if !strings.Contains(pe.Msg, tc.want) {
			t.Errorf("Parse(%s) error %q, want it to contain %q", tc.line, pe.Msg, tc.want)
		}
	}
}

func TestFlexInt(t *testing.T) {
	for _, tc := range []struct {
		json string
		want flexInt
		ok   bool
	}{
		{`0`, 0, true}, {`131047`, 131047, true}, {`"131047"`, 131047, true}, {`""`, 0, true}, {`null`, 0, true},
		{`-1`, -1, true}, // protovalidate rejects it later (error_code >= 0)
		{`"12a"`, 0, false}, {`1e3`, 0, false}, {`true`, 0, false}, {`"2147483648"`, 0, false},
	} {
		var n flexInt
		err := json.Unmarshal([]byte(tc.json), &n)
		if (err == nil) != tc.ok || (tc.ok && n != tc.want) {
			t.Errorf("flexInt %s = %d, %v; want %d, ok %v", tc.json, n, err, tc.want, tc.ok)
		}
	}
}

// TestParseResultsAreIndependent: a Parsed value does not alias the input line, so
// the reader may reuse its buffer.
func TestParseResultsAreIndependent(t *testing.T) {
	line := []byte(`{"type":"send","business":"b1","user":"5511987650001","id":"m1","at":"2025-08-04T10:00:00Z","template":"utility"}`)
	p, err := Parse(line)
	if err != nil {
		t.Fatal(err)
	}
	before := proto.Clone(p.Fact)
	for i := range line {
		line[i] = 'x'
	}
	if !proto.Equal(before, p.Fact) {
		t.Errorf("the parsed fact changed when the input buffer was overwritten")
	}
}
