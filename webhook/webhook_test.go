package webhook

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	convstatev1 "github.com/convstate/convstate/gen/go/convstate/v1"
)

const (
	biz  = "106540352242922" // metadata.phone_number_id of the fixtures
	waba = "102290129340398"
	ana  = "5511987650001"
	sam  = "16505551234"
	kri  = "919810218674"
	jane = "US.13491208655302741918" // a username user: BSUID only
)

func ts(sec int64) *timestamppb.Timestamp { return &timestamppb.Timestamp{Seconds: sec} }

func userMsg(user, id string, sec int64) *convstatev1.Fact {
	return &convstatev1.Fact{Kind: &convstatev1.Fact_UserMessage{UserMessage: &convstatev1.UserMessage{
		BusinessId: biz, UserId: user, MessageId: id, Timestamp: ts(sec)}}}
}

// aliasMsg is a user message that names the user by a BSUID and the phone it belongs to.
func aliasMsg(bsuid, phone, id string, sec int64) *convstatev1.Fact {
	f := userMsg(bsuid, id, sec)
	f.GetUserMessage().UserPhone = phone
	return f
}

func adMsg(user, id string, sec int64) *convstatev1.Fact {
	f := userMsg(user, id, sec)
	f.GetUserMessage().EntryPoint = convstatev1.EntryPoint_ENTRY_POINT_CLICK_TO_WHATSAPP_AD
	return f
}

func userCall(user, id string, sec int64) *convstatev1.Fact {
	return &convstatev1.Fact{Kind: &convstatev1.Fact_UserCall{UserCall: &convstatev1.UserCall{
		BusinessId: biz, UserId: user, CallId: id, Timestamp: ts(sec)}}}
}

func echo(user, id string, sec int64) *convstatev1.Fact {
	return &convstatev1.Fact{Kind: &convstatev1.Fact_BusinessMessage{BusinessMessage: &convstatev1.BusinessMessage{
		BusinessId: biz, UserId: user, MessageId: id, Timestamp: ts(sec)}}}
}

var (
	sent      = convstatev1.MessageStatus_MESSAGE_STATUS_SENT
	delivered = convstatev1.MessageStatus_MESSAGE_STATUS_DELIVERED
	read      = convstatev1.MessageStatus_MESSAGE_STATUS_READ
	failed    = convstatev1.MessageStatus_MESSAGE_STATUS_FAILED
)

func status(id string, s convstatev1.MessageStatus, sec int64, recipient string, p *convstatev1.ReportedPricing) *convstatev1.Fact {
	return &convstatev1.Fact{Kind: &convstatev1.Fact_Status{Status: &convstatev1.StatusUpdate{
		BusinessId: biz, MessageId: id, Status: s, Timestamp: ts(sec), RecipientId: recipient, Pricing: p}}}
}

func failure(id string, sec int64, recipient string, code int32) *convstatev1.Fact {
	f := status(id, failed, sec, recipient, nil)
	f.GetStatus().ErrorCode = code
	return f
}

// alsoBSUID sets a status's recipient_user_id: the BSUID beside its phone recipient.
func alsoBSUID(f *convstatev1.Fact, bsuid string) *convstatev1.Fact {
	f.GetStatus().RecipientUserId = bsuid
	return f
}

func bp(b bool) *bool { return &b }

// price builds a ReportedPricing; billable nil means Meta sent none.
func price(model, category, typ string, billable *bool) *convstatev1.ReportedPricing {
	return &convstatev1.ReportedPricing{PricingModel: model, Category: category, Type: typ, Billable: billable}
}

func change(name string, prev, next convstatev1.TemplateCategory, sec int64) *convstatev1.Fact {
	return &convstatev1.Fact{Kind: &convstatev1.Fact_TemplateCategoryChange{TemplateCategoryChange: &convstatev1.TemplateCategoryChange{
		WabaId: waba, TemplateName: name, PreviousCategory: prev, NewCategory: next, Timestamp: ts(sec)}}}
}

func ok(path string, f *convstatev1.Fact) Item { return Item{Path: path, Fact: f} }
func bad(path, field, problem string) Item     { return Item{Path: path, Field: field, Problem: problem} }

const v0 = "entry[0].changes[0].value."

var (
	marketing = convstatev1.TemplateCategory_TEMPLATE_CATEGORY_MARKETING
	utility   = convstatev1.TemplateCategory_TEMPLATE_CATEGORY_UTILITY
	auth      = convstatev1.TemplateCategory_TEMPLATE_CATEGORY_AUTHENTICATION
)

// TestParseFixtures: every fixture of testdata/webhooks (README.md there says what
// each covers) gives exactly these items.
func TestParseFixtures(t *testing.T) {
	tests := []struct {
		file    string
		want    []Item
		ignored int
	}{
		{file: "messages_text.json", want: []Item{
			ok(v0+"messages[0]", userMsg(ana, "wamid.HBgNNTUxMTk4NzY1MDAwMRUCABIYFjNFQjBDNzE2RkE2QjE0MjJDMDdFAA==", 1754301600)),
		}},
		{file: "messages_button_interactive.json", want: []Item{
			ok(v0+"messages[0]", userMsg(ana, "wamid.HBgNNTUxMTk4NzY1MDAwMRUCABIYFDNBMDJCMUMyQTM2RTQ3QkI5QkQyAA==", 1754301660)),
			ok(v0+"messages[1]", userMsg(sam, "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQUI3Q0Q4RUY5MDEyMzQ1Njc4OQA=", 1754301720)),
			// timestamp as a JSON number
			ok(v0+"messages[2]", userMsg(sam, "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQUI3Q0Q4RUY5MDEyMzQ1Njc5MAA=", 1754301780)),
		}},
		{file: "messages_reaction.json", want: []Item{
			ok(v0+"messages[0]", userMsg(ana, "wamid.HBgNNTUxMTk4NzY1MDAwMRUCABIYFjNFQjA5QjE3QzM0RDU2RTc4OUFCAA==", 1754305200)),
			ok(v0+"messages[1]", userMsg(ana, "wamid.HBgNNTUxMTk4NzY1MDAwMRUCABIYFjNFQjA5QjE3QzM0RDU2RTc4OUFDAA==", 1754305260)),
		}},
		{file: "messages_referral_ad.json", want: []Item{
			ok(v0+"messages[0]", adMsg(sam, "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQUY1RjQ3RDRGQzcxMzVBQjFDRAA=", 1754301600)),
		}},
		{file: "messages_referral_post.json", want: []Item{
			ok(v0+"messages[0]", userMsg(sam, "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQUY1RjQ3RDRGQzcxMzVBQjFDRQA=", 1754301600)),
		}},
		{file: "messages_bsuid.json", want: []Item{
			ok(v0+"messages[0]", aliasMsg("IN.1410018717833190", kri, "wamid.HBgMOTE5ODEwMjE4Njc0FQIAEhggQUM4Q0I2MzlGQzA0NDhFOUIwOTJGMjVERTZCRDY3MTMA", 1779116400)),
			ok(v0+"messages[1]", userMsg(jane, "wamid.HBgYVVMuMTM0OTEyMDg2NTUzMDI3NDE5MTgVAgASGBQzQUUxNjc4QjlDMEQxRTJGM0E0QgA=", 1779116460)),
		}},
		{file: "messages_system_unsupported.json", want: []Item{
			// messages[0] is a system message: skipped
			ok(v0+"messages[1]", userMsg(sam, "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQUVVTlNVUFBPUlRFRFBPTEwwMDEA", 1754308860)),
			ok(v0+"messages[2]", userMsg(sam, "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQVJFUVVFU1RXRUxDT01FMDAxAA==", 1754308900)),
		}},
		{file: "statuses_failed_131047.json", want: []Item{
			ok(v0+"statuses[0]", failure("wamid.HBgNNTUxMTk4NzY1MDAwMRUCABEYEjY4QUEyQjNDNEQ1RTZGNzg5MAA=", 1754398800, ana, 131047)),
		}},
		{file: "statuses_nbp_2021.json", want: []Item{
			ok(v0+"statuses[0]", status("wamid.HBgNNTUxMTk4NzY1MDAwMRUCABEYEjIwMjEwOTE0TkJQREVMSVZFUgA=", delivered, 1631613600, ana,
				price("NBP", "", "", bp(true)))),
		}},
		{file: "statuses_cbp_2022.json", want: []Item{
			ok(v0+"statuses[0]", status("wamid.HBgLMTY1MDU1NTEyMzQVAgARGBIyMDIyMDkyMENCUEJJAA==", sent, 1663682400, sam,
				price("CBP", "business_initiated", "", bp(true)))),
			ok(v0+"statuses[1]", status("wamid.HBgLMTY1MDU1NTEyMzQVAgARGBIyMDIyMDkyMENCUEJJAA==", delivered, 1663682403, sam,
				price("CBP", "business_initiated", "", bp(true)))),
			ok(v0+"statuses[2]", status("wamid.HBgLMTY1MDU1NTEyMzQVAgARGBIyMDIyMDkyMENCUFVJAA==", delivered, 1663686000, sam,
				price("CBP", "user_initiated", "", bp(true)))),
			ok(v0+"statuses[3]", status("wamid.HBgLMTY1MDU1NTEyMzQVAgARGBIyMDIyMDkyMENCUFJDAA==", delivered, 1663689600, sam,
				price("CBP", "referral_conversion", "", bp(false)))),
		}},
		{file: "statuses_cbp_2023.json", want: []Item{
			ok(v0+"statuses[0]", status("wamid.HBgNNTUxMTk4NzY1MDAwMRUCABEYEjIwMjMwNzExTUFSS0VUSU5HAA==", delivered, 1689066000, ana,
				price("CBP", "marketing", "", bp(true)))),
			ok(v0+"statuses[1]", status("wamid.HBgNNTUxMTk4NzY1MDAwMRUCABEYEjIwMjMwNzExVVRJTElUWTAwAA==", delivered, 1689069600, ana,
				price("CBP", "utility", "", bp(true)))),
			ok(v0+"statuses[2]", status("wamid.HBgNNTUxMTk4NzY1MDAwMRUCABEYEjIwMjMwNzExQVVUSEVOVElDAA==", delivered, 1689073200, ana,
				price("CBP", "authentication", "", bp(true)))),
			ok(v0+"statuses[3]", status("wamid.HBgNNTUxMTk4NzY1MDAwMRUCABEYEjIwMjMwNzExUkVGRVJSQUwwAA==", delivered, 1689076800, ana,
				price("CBP", "referral_conversion", "", bp(false)))),
			// "authentication-international" (hyphen) is normalised
			ok(v0+"statuses[4]", status("wamid.HBgMOTE5ODEwMjE4Njc0FQIAERgSMjAyNDA3MTBBVVRISU5UTDAA", delivered, 1718020800, kri,
				price("CBP", "authentication_international", "", bp(true)))),
			ok(v0+"statuses[5]", status("wamid.HBgNNTUxMTk4NzY1MDAwMRUCABEYEjIwMjUwNjIwU0VSVklDRTAwAA==", delivered, 1750406400, ana,
				price("CBP", "service", "", bp(true)))),
		}},
		{file: "statuses_pmp.json", want: []Item{
			ok(v0+"statuses[0]", status("wamid.HBgNNTUxMTk4NzY1MDAwMRUCABEYEjIwMjUwODA0TUtUMDAwMDAA", sent, 1754301600, ana,
				price("PMP", "marketing", "regular", bp(true)))),
			ok(v0+"statuses[1]", status("wamid.HBgNNTUxMTk4NzY1MDAwMRUCABEYEjIwMjUwODA0TUtUMDAwMDAA", delivered, 1754301605, ana,
				price("PMP", "marketing", "regular", bp(true)))),
			ok(v0+"statuses[2]", status("wamid.HBgNNTUxMTk4NzY1MDAwMRUCABEYEjIwMjUwODA0TUtUMDAwMDAA", read, 1754301900, ana, nil)),
			ok(v0+"statuses[3]", status("wamid.HBgNNTUxMTk4NzY1MDAwMRUCABEYEjIwMjUwODA0VVRJTDAwMDAA", delivered, 1754302200, ana,
				price("PMP", "utility", "free_customer_service", bp(false)))),
			ok(v0+"statuses[4]", status("wamid.HBgLMTY1MDU1NTEyMzQVAgARGBIyMDI1MDgwNEZFUDAwMDAwAA==", delivered, 1754305200, sam,
				price("PMP", "referral_conversion", "free_entry_point", nil))),
			ok(v0+"statuses[5]", status("wamid.HBgMOTE5ODEwMjE4Njc0FQIAERgSMjAyNTExMDNBVVRISU5UTDAA", delivered, 1762185600, kri,
				price("PMP", "authentication_international", "regular", nil))),
			ok(v0+"statuses[6]", status("wamid.HBgNNTUxMTk4NzY1MDAwMRUCABEYEjIwMjUxMTAzU1ZDMDAwMDAA", delivered, 1762189200, ana,
				price("PMP", "service", "free_customer_service", nil))),
		}},
		{file: "statuses_unsupported.json", ignored: 2, want: []Item{
			// played (statuses[0]) and deleted (statuses[2]) are skipped, not errors
			ok(v0+"statuses[1]", status("wamid.HBgNNTUxMTk4NzY1MDAwMRUCABEYEjIwMjUwODA0Vk9JQ0UwMDAA", read, 1754302790, ana, nil)),
		}},
		{file: "statuses_bsuid.json", want: []Item{
			// recipient_id (phone) wins over recipient_user_id, which is kept beside it
			ok(v0+"statuses[0]", alsoBSUID(status("wamid.HBgMOTE5ODEwMjE4Njc0FQIAERgSMjAyNjA1MThCU1VJRDAwMDAA", delivered, 1779116500, kri,
				price("PMP", "utility", "regular", bp(true))), "IN.1410018717833190")),
			// sent to a BSUID, no phone anywhere: the BSUID
			ok(v0+"statuses[1]", status("wamid.HBgYVVMuMTM0OTEyMDg2NTUzMDI3NDE5MTgVAgARGBIyMDI2MDUxOEJTVUlEMDAA", delivered, 1779116560, jane,
				price("PMP", "service", "free_customer_service", bp(false)))),
			// failed statuses carry no contacts
			ok("entry[0].changes[1].value.statuses[0]", failure("wamid.HBgNNTUxMTk4NzY1MDAwMRUCABEYEjIwMjYwNTE4RkFJTEVEMDAA", 1779116600, ana, 131026)),
		}},
		{file: "calls_user_initiated.json", want: []Item{
			ok(v0+"calls[0]", userCall(ana, "wacid.HBgNNTUxMTk4NzY1MDAwMRUCABEYIDM2RTVBQTE0RjNCMkM1RDQ2N0M4QTkwMTJCM0Q0RTU2AA", 1762185600)),
			// the terminate event of the same call: same id, the server deduplicates
			ok("entry[0].changes[1].value.calls[0]", userCall(ana, "wacid.HBgNNTUxMTk4NzY1MDAwMRUCABEYIDM2RTVBQTE0RjNCMkM1RDQ2N0M4QTkwMTJCM0Q0RTU2AA", 1762185784)),
			// a missed call (terminate FAILED without connect) is still the user calling
			ok("entry[0].changes[2].value.calls[0]", userCall(sam, "wacid.HBgLMTY1MDU1NTEyMzQVAgARGCBNSVNTRURDQUxMMDAwMDAwMDAwMDAwMDAwMDAwMDAwAA", 1762189200)),
		}},
		{file: "calls_business_initiated.json", want: nil},
		{file: "calls_no_direction.json", want: []Item{
			ok(v0+"calls[0]", userCall(ana, "wacid.ABGGFjFVU2AfAgo6V-Hc5eCgK5Gh", 1750406400)),
			// calls[1] is from the business's display number: skipped
		}},
		{file: "smb_message_echoes.json", want: []Item{
			ok(v0+"message_echoes[0]", echo(ana, "wamid.HBgNNTUxMTk4NzY1MDAwMRUCABEYEkVDSE9URVhUMDAwMDAwMDAA", 1754309000)),
			ok(v0+"message_echoes[1]", echo(ana, "wamid.HBgNNTUxMTk4NzY1MDAwMRUCABEYEkVDSE9JTUFHRTAwMDAwMDAA", 1754309060)),
			bad(v0+"message_echoes[2]", v0+"message_echoes[2].type", "template echo without category (the echo does not say the template's category, which decides its charge)"),
			// message_echoes[3] is a revoke: skipped
			ok(v0+"message_echoes[4]", echo(jane, "wamid.HBgYVVMuMTM0OTEyMDg2NTUzMDI3NDE5MTgVAgARGBJFQ0hPQlNVSUQwMDAA", 1779116700)),
		}},
		{file: "template_category_update.json", ignored: 1, want: []Item{
			ok("entry[0].changes[0].value", change("order_update", utility, marketing, 1754352000)),
			// entry[1] is an advance notice (correct_category): ignored
			ok("entry[2].changes[0].value", change("login_code", marketing, auth, 1754438400)),
		}},
		{file: "account_update.json", ignored: 2},
		{file: "malformed_items.json", want: []Item{
			bad(v0+"messages[0]", v0+"messages[0].id", "missing"),
			bad(v0+"messages[1]", v0+"messages[1].timestamp", `"yesterday" is not Unix seconds`),
			bad(v0+"messages[2]", v0+"messages[2]", "not an object"),
			bad(v0+"messages[3]", v0+"messages[3].from", "missing (no from, from_user_id or contact)"),
			bad(v0+"messages[4]", v0+"messages[4].timestamp", `"1754301600.5" is not Unix seconds`),
			ok(v0+"messages[5]", userMsg(ana, "wamid.GOOD0006", 1754301600)),
			bad(v0+"statuses[0]", v0+"statuses[0].errors[0].code", `"E131047" is not an error code`),
			bad(v0+"statuses[1]", v0+"statuses[1].status", "missing"),
			bad(v0+"statuses[2]", v0+"statuses[2].id", "not a string"),
			bad("entry[0].changes[1].value.messages[0]", "entry[0].changes[1].value.metadata.phone_number_id", "missing"),
			bad("entry[0].changes[1].value.statuses", "entry[0].changes[1].value.statuses", "not an array"),
			bad("entry[0].changes[2].value.calls[0]", "entry[0].changes[2].value.calls[0].direction", "missing, and without metadata.display_phone_number the caller is unknown"),
			bad("entry[0].changes[2].value.calls[1]", "entry[0].changes[2].value.calls[1].direction", `unknown direction "SIDEWAYS"`),
			bad("entry[0].changes[3]", "entry[0].changes[3].field", "missing"),
			bad("entry[0].changes[4].value", "entry[0].changes[4].value.new_category", `"PROMOTIONAL" is not MARKETING, UTILITY or AUTHENTICATION`),
			bad("entry[0].changes[5].value", "entry[0].time", "no time (a template_category_update takes effect at the entry's time)"),
			bad("entry[0].changes[6].value", "entry[0].changes[6].value", "not an object"),
			bad("entry[1]", "entry[1]", "not an object"),
			bad("entry[2]", "entry[2].changes", "not an array"),
		}},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			seen[tt.file] = true
			body, err := os.ReadFile(filepath.Join("..", "testdata", "webhooks", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			got, ignored, err := Parse(body)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if d := cmp.Diff(tt.want, got, protocmp.Transform()); d != "" {
				t.Errorf("items (-want +got):\n%s", d)
			}
			if ignored != tt.ignored {
				t.Errorf("ignored = %d, want %d", ignored, tt.ignored)
			}
		})
	}
	// Every fixture is tested (onprem_envelope.json in TestParseBodyErrors).
	files, _ := filepath.Glob(filepath.Join("..", "testdata", "webhooks", "*.json"))
	for _, f := range files {
		if b := filepath.Base(f); !seen[b] && b != "onprem_envelope.json" {
			t.Errorf("fixture %s has no test", b)
		}
	}
}

// TestParseBodyErrors: bodies that are not Cloud API webhooks are errors (a
// *BodyError), and give no items.
func TestParseBodyErrors(t *testing.T) {
	onprem, err := os.ReadFile(filepath.Join("..", "testdata", "webhooks", "onprem_envelope.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ name, body, want string }{
		{"on-premises envelope", string(onprem), `not a Cloud API webhook: "statuses" at the top level is the On-Premises API envelope (sunset 2025-10-23)`},
		{"on-premises messages", `{"contacts":[{"wa_id":"1"}],"messages":[{"from":"1","id":"x","timestamp":"1","type":"text"}]}`,
			`not a Cloud API webhook: "messages" at the top level is the On-Premises API envelope (sunset 2025-10-23)`},
		{"empty", ``, "the body is not JSON: unexpected end of JSON input"},
		{"not json", `{"entry":`, "the body is not JSON: unexpected end of JSON input"},
		{"trailing garbage", `{"entry":[]} x`, "the body is not JSON: invalid character 'x' after top-level value"},
		{"array", `[{"entry":[]}]`, "the body is not a JSON object"},
		{"string", `"entry"`, "the body is not a JSON object"},
		{"null", `null`, "the body is not a JSON object"},
		{"no entry", `{"object":"whatsapp_business_account"}`, `not a Cloud API webhook: no "entry" array`},
		{"entry null", `{"object":"whatsapp_business_account","entry":null}`, `not a Cloud API webhook: no "entry" array`},
		{"entry object", `{"object":"whatsapp_business_account","entry":{"id":"1"}}`, `not a Cloud API webhook: "entry" is not an array`},
		{"messenger", `{"object":"page","entry":[]}`, `"object" is "page", not "whatsapp_business_account": not a WhatsApp Business Account webhook`},
		{"object number", `{"object":7,"entry":[]}`, `"object" is "7", not "whatsapp_business_account": not a WhatsApp Business Account webhook`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			items, ignored, err := Parse([]byte(tt.body))
			var be *BodyError
			if !errors.As(err, &be) || err.Error() != tt.want {
				t.Fatalf("err = %v, want BodyError %q", err, tt.want)
			}
			if items != nil || ignored != 0 {
				t.Errorf("items %v, ignored %d; want none", items, ignored)
			}
		})
	}
}

// wrap puts one change into a Cloud API envelope.
func wrap(field, value string) string {
	return `{"object":"whatsapp_business_account","entry":[{"id":"` + waba + `","time":1754352000,"changes":[{"field":"` + field + `","value":` + value + `}]}]}`
}

const md = `"messaging_product":"whatsapp","metadata":{"display_phone_number":"+1 555-078-3881","phone_number_id":"` + biz + `"}`

// TestParseCases: the mapping rules one by one, on small bodies.
func TestParseCases(t *testing.T) {
	for _, tt := range []struct {
		name    string
		body    string
		want    []Item
		ignored int
	}{
		{
			name: "empty entry and changes",
			body: `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[]}]}`,
		},
		{
			name: "object may be absent",
			body: `{"entry":[{"changes":[{"field":"messages","value":{` + md + `,"messages":[{"from":"` + ana + `","id":"m1","timestamp":1754301600,"type":"text"}]}}]}]}`,
			want: []Item{ok(v0+"messages[0]", userMsg(ana, "m1", 1754301600))},
		},
		{
			name: "BSUID in from, phone from the contact paired by user_id",
			body: wrap("messages", `{`+md+`,"contacts":[{"wa_id":"`+sam+`","user_id":"US.99"},{"wa_id":"`+ana+`","user_id":"BR.15"}],`+
				`"messages":[{"from":"BR.15","id":"m1","timestamp":"1779116400","type":"text"}]}`),
			want: []Item{ok(v0+"messages[0]", aliasMsg("BR.15", ana, "m1", 1779116400))},
		},
		{
			name: "from_user_id only, phone from the contact",
			body: wrap("messages", `{`+md+`,"contacts":[{"wa_id":"`+ana+`","user_id":"BR.15"}],`+
				`"messages":[{"from_user_id":"BR.15","id":"m1","timestamp":"1779116400","type":"image"}]}`),
			want: []Item{ok(v0+"messages[0]", aliasMsg("BR.15", ana, "m1", 1779116400))},
		},
		{
			name: "parent BSUID in from without a contact",
			body: wrap("messages", `{`+md+`,"messages":[{"from":"US.ENT.11815799212886844830","id":"m1","timestamp":"1779116400","type":"text"}]}`),
			want: []Item{ok(v0+"messages[0]", userMsg("US.ENT.11815799212886844830", "m1", 1779116400))},
		},
		{
			name: "referral source types",
			body: wrap("messages", `{`+md+`,"messages":[`+
				`{"from":"`+ana+`","id":"m1","timestamp":"1","type":"text","referral":{"source_type":"AD"}},`+
				`{"from":"`+ana+`","id":"m2","timestamp":"2","type":"text","referral":{"source_type":"post"}},`+
				`{"from":"`+ana+`","id":"m3","timestamp":"3","type":"text","referral":{"source_url":"https://fb.me/x"}},`+
				`{"from":"`+ana+`","id":"m4","timestamp":"4","type":"text","referral":"ad"}]}`),
			want: []Item{
				ok(v0+"messages[0]", adMsg(ana, "m1", 1)),
				ok(v0+"messages[1]", userMsg(ana, "m2", 2)),
				ok(v0+"messages[2]", userMsg(ana, "m3", 3)),
				ok(v0+"messages[3]", userMsg(ana, "m4", 4)),
			},
		},
		{
			name: "numbers for ids and timestamps",
			body: `{"object":"whatsapp_business_account","entry":[{"id":102290129340398,"time":"1754352000","changes":[` +
				`{"field":"messages","value":{"metadata":{"phone_number_id":106540352242922},"messages":[{"from":5511987650001,"id":"m1","timestamp":1754301600}]}},` +
				`{"field":"template_category_update","value":{"message_template_name":"t","new_category":"Utility"}}]}]}`,
			want: []Item{
				ok(v0+"messages[0]", userMsg(ana, "m1", 1754301600)),
				ok("entry[0].changes[1].value", change("t", 0, utility, 1754352000)),
			},
		},
		{
			name: "timestamps out of range",
			body: wrap("messages", `{`+md+`,"messages":[`+
				`{"from":"1","id":"a","timestamp":"-1"},{"from":"1","id":"b","timestamp":"1754301600000000"},`+
				`{"from":"1","id":"c","timestamp":true},{"from":"1","id":"d","timestamp":null},{"from":"1","id":"e","timestamp":"0"}]}`),
			want: []Item{
				bad(v0+"messages[0]", v0+"messages[0].timestamp", `"-1" is not Unix seconds`),
				bad(v0+"messages[1]", v0+"messages[1].timestamp", `"1754301600000000" is not Unix seconds`),
				bad(v0+"messages[2]", v0+"messages[2].timestamp", `"true" is not Unix seconds`),
				bad(v0+"messages[3]", v0+"messages[3].timestamp", "missing"),
				ok(v0+"messages[4]", userMsg("1", "e", 0)),
			},
		},
		{
			name: "status fields",
			body: wrap("messages", `{`+md+`,"statuses":[`+
				`{"id":"s1","status":"DELIVERED","timestamp":"5","recipient_id":"`+ana+`","pricing":{"billable":"false","pricing_model":"pmp","category":"Authentication-International","type":"Regular"}},`+
				`{"id":"s2","status":"failed","timestamp":"6","recipient_id":"`+ana+`","errors":[{"code":"131049","title":"x"}]},`+
				`{"id":"s3","status":"failed","timestamp":"7"},`+
				`{"id":"s4","status":"read","timestamp":"8","errors":[{"code":"nope"}],"pricing":{"billable":1},"conversation":{"id":"c"}},`+
				`{"id":"s5","status":"sent","timestamp":"9","pricing":"x"}]}`),
			want: []Item{
				ok(v0+"statuses[0]", status("s1", delivered, 5, ana, price("PMP", "authentication_international", "regular", bp(false)))),
				ok(v0+"statuses[1]", failure("s2", 6, ana, 131049)),
				ok(v0+"statuses[2]", failure("s3", 7, "", 0)),
				// errors of a non-failed status are not read; a non-boolean billable is dropped
				ok(v0+"statuses[3]", status("s4", read, 8, "", price("", "", "", nil))),
				ok(v0+"statuses[4]", status("s5", sent, 9, "", nil)),
			},
		},
		{
			name: "status recipient from the contacts",
			body: wrap("messages", `{`+md+`,"contacts":[{"wa_id":"`+ana+`","user_id":"BR.15"}],"statuses":[`+
				`{"id":"s1","status":"read","timestamp":"5","recipient_user_id":"BR.15"},`+
				`{"id":"s2","status":"read","timestamp":"5","recipient_id":"BR.16"}]}`),
			want: []Item{
				ok(v0+"statuses[0]", alsoBSUID(status("s1", read, 5, ana, nil), "BR.15")),
				ok(v0+"statuses[1]", status("s2", read, 5, "BR.16", nil)),
			},
		},
		{
			name: "calls in the messages field and display number formats",
			body: wrap("messages", `{`+md+`,"calls":[`+
				`{"id":"c1","from":"15550783881","to":"`+ana+`","event":"connect","timestamp":"10"},`+
				`{"id":"c2","from":"`+ana+`","to":"15550783881","event":"connect","timestamp":"11"},`+
				`{"id":"c3","from_user_id":"BR.15","event":"connect","timestamp":"12","direction":"user_initiated"},`+
				`{"id":"c4","from":"`+ana+`","event":"connect","timestamp":"13","direction":"BUSINESS_INITIATED"}]}`),
			want: []Item{
				ok(v0+"calls[1]", userCall(ana, "c2", 11)),
				ok(v0+"calls[2]", userCall("BR.15", "c3", 12)),
			},
		},
		{
			name: "value errors are not facts",
			body: wrap("messages", `{`+md+`,"errors":[{"code":131000,"title":"Something went wrong"}]}`),
		},
		{
			name: "template category update: bad previous, no name, no waba, bad time",
			body: `{"object":"whatsapp_business_account","entry":[` +
				`{"id":"w","time":1,"changes":[{"field":"template_category_update","value":{"message_template_name":"t","previous_category":"SERVICE","new_category":"UTILITY"}}]},` +
				`{"id":"w","time":1,"changes":[{"field":"template_category_update","value":{"new_category":"UTILITY"}}]},` +
				`{"time":1,"changes":[{"field":"template_category_update","value":{"message_template_name":"t","new_category":"UTILITY"}}]},` +
				`{"id":"w","time":"soon","changes":[{"field":"template_category_update","value":{"message_template_name":"t","new_category":"UTILITY"}}]},` +
				`{"id":"w","time":1,"changes":[{"field":"template_category_update","value":{"message_template_name":"t"}}]}]}`,
			want: []Item{
				bad("entry[0].changes[0].value", "entry[0].changes[0].value.previous_category", `"SERVICE" is not MARKETING, UTILITY or AUTHENTICATION`),
				bad("entry[1].changes[0].value", "entry[1].changes[0].value.message_template_name", "missing"),
				bad("entry[2].changes[0].value", "entry[2].id", "missing"),
				bad("entry[3].changes[0].value", "entry[3].time", `"soon" is not Unix seconds`),
				bad("entry[4].changes[0].value", "entry[4].changes[0].value.new_category", "missing"),
			},
		},
		{
			name: "echo without a recipient, and another field's change",
			body: `{"object":"whatsapp_business_account","entry":[{"id":"w","changes":[` +
				`{"field":"smb_message_echoes","value":{` + md + `,"message_echoes":[{"from":"15550783881","id":"e1","timestamp":"1","type":"text"}]}},` +
				`{"field":"history","value":{}},{"field":"smb_app_state_sync","value":{}},{"field":"user_preferences","value":{}}]}]}`,
			want:    []Item{bad(v0+"message_echoes[0]", v0+"message_echoes[0].to", "missing (no to, to_user_id or contact)")},
			ignored: 3,
		},
		{
			name: "field of the wrong type",
			body: `{"entry":[{"changes":[{"field":["messages"],"value":{}},{"field":"messages"}]}]}`,
			want: []Item{
				bad("entry[0].changes[0]", "entry[0].changes[0].field", "not a string"),
				bad("entry[0].changes[1].value", "entry[0].changes[1].value", "missing"),
			},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, ignored, err := Parse([]byte(tt.body))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if d := cmp.Diff(tt.want, got, protocmp.Transform()); d != "" {
				t.Errorf("items (-want +got):\n%s", d)
			}
			if ignored != tt.ignored {
				t.Errorf("ignored = %d, want %d", ignored, tt.ignored)
			}
		})
	}
}

// TestParseErrorTextIsValidUTF8: error messages quote what they could not read,
// cut short and valid UTF-8 even when the body is not (they travel in protobuf
// strings).
func TestParseErrorTextIsValidUTF8(t *testing.T) {
	body := wrap("messages", `{`+md+`,"messages":[{"from":"1","id":"x","timestamp":"`+strings.Repeat("é", 50)+"\xff"+`"}]}`)
	items, _, err := Parse([]byte(body))
	if err != nil || len(items) != 1 {
		t.Fatalf("items %v, err %v", items, err)
	}
	want := bad(v0+"messages[0]", v0+"messages[0].timestamp", `"`+strings.Repeat("é", 40)+`…" is not Unix seconds`)
	if items[0] != want {
		t.Errorf("item = %+v\nwant %+v", items[0], want)
	}
}
