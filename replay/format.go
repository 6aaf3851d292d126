// Package replay runs a file of facts (JSON lines) through convstate and writes one
// JSON result per fact. The format is a public interface (README "Replay"); keep
// it stable.
package replay

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	convstatev1 "github.com/convstate/convstate/gen/go/convstate/v1"
)

// Input is one line of input: a fact, a check, or a business profile.
type Input struct {
	Type       string  `json:"type"`
	Business   string  `json:"business"`
	User       string  `json:"user"`
	ID         string  `json:"id"`
	At         string  `json:"at"`
	EntryPoint string  `json:"entry_point"`
	Template   string  `json:"template"`
	Status     string  `json:"status"`
	ErrorCode  flexInt `json:"error_code"`
	Phone      string  `json:"phone"`
	TimeZone   string  `json:"timezone"`
	Currency   string  `json:"currency"`
	WABA       string  `json:"waba"`
	Portfolio  string  `json:"portfolio"`
	Country    string  `json:"primary_country"`
	AuthIntl   string  `json:"auth_international_start"`
	// Reconciliation and re-categorisation (README "Replay").
	Recipient    string   `json:"recipient"`
	RecipientBID string   `json:"recipient_user_id"`
	Pricing      *pricing `json:"pricing"`
	TemplateName string   `json:"template_name"`
	Previous     string   `json:"previous_category"`
	New          string   `json:"new_category"`
}

// pricing is Meta's pricing object on a status line.
type pricing struct {
	PricingModel string `json:"pricing_model"`
	Category     string `json:"category"`
	Type         string `json:"type"`
	Billable     *bool  `json:"billable"`
}

// Kind is what an input line does.
type Kind int

// Kinds of input lines.
const (
	KindFact     Kind = iota + 1 // recorded with RecordFacts
	KindCheck                    // a Decide
	KindBusiness                 // a SetBusinessProfile
)

// Parsed is a validated input line, ready to send.
type Parsed struct {
	Kind     Kind
	Fact     *convstatev1.Fact
	Check    *convstatev1.DecideRequest
	Business *convstatev1.BusinessProfile
}

// ParseError is a line that is not a valid input; it is reported as InvalidArgument.
type ParseError struct{ Msg string }

func (e *ParseError) Error() string { return e.Msg }

func parseErr(format string, args ...any) *ParseError {
	return &ParseError{Msg: fmt.Sprintf(format, args...)}
}

// Skip reports whether a line is blank or a comment.
func Skip(line []byte) bool {
	line = bytes.TrimSpace(line)
	return len(line) == 0 || line[0] == '#'
}

var templates = map[string]convstatev1.TemplateCategory{
	"marketing":                    convstatev1.TemplateCategory_TEMPLATE_CATEGORY_MARKETING,
	"utility":                      convstatev1.TemplateCategory_TEMPLATE_CATEGORY_UTILITY,
	"authentication":               convstatev1.TemplateCategory_TEMPLATE_CATEGORY_AUTHENTICATION,
	"authentication_international": convstatev1.TemplateCategory_TEMPLATE_CATEGORY_AUTHENTICATION_INTERNATIONAL,
}

var statuses = map[string]convstatev1.MessageStatus{
	"sent":      convstatev1.MessageStatus_MESSAGE_STATUS_SENT,
	"delivered": convstatev1.MessageStatus_MESSAGE_STATUS_DELIVERED,
	"read":      convstatev1.MessageStatus_MESSAGE_STATUS_READ,
	"failed":    convstatev1.MessageStatus_MESSAGE_STATUS_FAILED,
}

var entryPoints = map[string]convstatev1.EntryPoint{
	"":         convstatev1.EntryPoint_ENTRY_POINT_UNSPECIFIED,
	"ctwa_ad":  convstatev1.EntryPoint_ENTRY_POINT_CLICK_TO_WHATSAPP_AD,
	"page_cta": convstatev1.EntryPoint_ENTRY_POINT_PAGE_CTA,
}

func parseTime(field, s string, required bool) (*timestamppb.Timestamp, error) {
	if s == "" {
		if required {
			return nil, parseErr("%q is required (RFC 3339, e.g. \"2025-07-03T10:00:00Z\")", field)
		}
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return nil, parseErr("%q %q is not an RFC 3339 time (e.g. \"2025-07-03T10:00:00Z\")", field, s)
	}
	return timestamppb.New(t), nil
}

func parseTemplate(s string) (convstatev1.TemplateCategory, error) {
	if s == "" {
		return convstatev1.TemplateCategory_TEMPLATE_CATEGORY_UNSPECIFIED, nil
	}
	t, ok := templates[strings.ToLower(s)]
	if !ok {
		return 0, parseErr("\"template\" %q is not a category: marketing, utility, authentication or authentication_international (omit it for free-form)", s)
	}
	return t, nil
}

// Parse parses one non-blank, non-comment input line.
func Parse(line []byte) (*Parsed, error) {
	// Unknown fields are ignored, so scenario files may carry notes of their own.
	var in Input
	if err := json.Unmarshal(line, &in); err != nil {
		return nil, parseErr("not a valid input object: %v", err)
	}
	switch in.Type {
	case "business":
		return parseBusiness(&in)
	case "check":
		return parseCheck(&in)
	case "user_message", "user_call", "send", "status", "template_category_change":
		f, err := parseFact(&in)
		if err != nil {
			return nil, err
		}
		return &Parsed{Kind: KindFact, Fact: f}, nil
	case "":
		return nil, parseErr("\"type\" is required: business, user_message, user_call, send, status, check or template_category_change")
	}
	return nil, parseErr("unknown \"type\" %q: business, user_message, user_call, send, status, check or template_category_change", in.Type)
}

func parseFact(in *Input) (*convstatev1.Fact, error) {
	ts, err := parseTime("at", in.At, true)
	if err != nil {
		return nil, err
	}
	switch in.Type {
	case "user_message":
		ep, ok := entryPoints[in.EntryPoint]
		if !ok {
			return nil, parseErr("\"entry_point\" %q is not ctwa_ad or page_cta", in.EntryPoint)
		}
		return &convstatev1.Fact{Kind: &convstatev1.Fact_UserMessage{UserMessage: &convstatev1.UserMessage{
			BusinessId: in.Business, UserId: in.User, MessageId: in.ID, Timestamp: ts, EntryPoint: ep, UserPhone: in.Phone,
		}}}, nil
	case "user_call":
		return &convstatev1.Fact{Kind: &convstatev1.Fact_UserCall{UserCall: &convstatev1.UserCall{
			BusinessId: in.Business, UserId: in.User, CallId: in.ID, Timestamp: ts, UserPhone: in.Phone,
		}}}, nil
	case "send":
		tmpl, err := parseTemplate(in.Template)
		if err != nil {
			return nil, err
		}
		return &convstatev1.Fact{Kind: &convstatev1.Fact_BusinessMessage{BusinessMessage: &convstatev1.BusinessMessage{
			BusinessId: in.Business, UserId: in.User, MessageId: in.ID, Timestamp: ts, Template: tmpl, UserPhone: in.Phone,
			TemplateName: in.TemplateName,
		}}}, nil
	case "template_category_change":
		prev, err := parseTemplate(in.Previous)
		if err != nil {
			return nil, err
		}
		next, err := parseTemplate(in.New)
		if err != nil {
			return nil, err
		}
		return &convstatev1.Fact{Kind: &convstatev1.Fact_TemplateCategoryChange{TemplateCategoryChange: &convstatev1.TemplateCategoryChange{
			WabaId: in.WABA, TemplateName: in.TemplateName, PreviousCategory: prev, NewCategory: next, Timestamp: ts,
		}}}, nil
	}
	st, ok := statuses[in.Status]
	if !ok {
		return nil, parseErr("\"status\" %q is not sent, delivered, read or failed", in.Status)
	}
	su := &convstatev1.StatusUpdate{
		BusinessId: in.Business, MessageId: in.ID, Status: st, Timestamp: ts, ErrorCode: int32(in.ErrorCode),
		RecipientId: in.Recipient, RecipientUserId: in.RecipientBID,
	}
	if p := in.Pricing; p != nil {
		su.Pricing = &convstatev1.ReportedPricing{PricingModel: p.PricingModel, Category: p.Category, Type: p.Type, Billable: p.Billable}
	}
	return &convstatev1.Fact{Kind: &convstatev1.Fact_Status{Status: su}}, nil
}

func parseCheck(in *Input) (*Parsed, error) {
	ts, err := parseTime("at", in.At, false)
	if err != nil {
		return nil, err
	}
	tmpl, err := parseTemplate(in.Template)
	if err != nil {
		return nil, err
	}
	return &Parsed{Kind: KindCheck, Check: &convstatev1.DecideRequest{
		BusinessId: in.Business, UserId: in.User, Time: ts, Template: tmpl, UserPhone: in.Phone,
	}}, nil
}

func parseBusiness(in *Input) (*Parsed, error) {
	p := &convstatev1.BusinessProfile{
		BusinessId:     in.Business,
		TimeZone:       in.TimeZone,
		Currency:       in.Currency,
		WabaId:         in.WABA,
		PortfolioId:    in.Portfolio,
		PrimaryCountry: in.Country,
	}
	ts, err := parseTime("auth_international_start", in.AuthIntl, false)
	if err != nil {
		return nil, err
	}
	p.AuthInternationalStart = ts
	return &Parsed{Kind: KindBusiness, Business: p}, nil
}

// flexInt is an integer that may also be written as a string ("131047").
type flexInt int32

func (n *flexInt) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" || s == "null" {
		*n = 0
		return nil
	}
	var v int32
	if _, err := fmt.Sscan(s, &v); err != nil || fmt.Sprint(v) != s {
		return fmt.Errorf("error_code %s is not an integer", b)
	}
	*n = flexInt(v)
	return nil
}
