// Package webhook reads the facts convstate records from the body of a WhatsApp
// Cloud API webhook POST: user messages and calls (they open the customer service
// window), statuses with Meta's pricing object, messages the business sent from
// the WhatsApp Business app (coexistence echoes) and template re-categorisations.
//
// It is pure: no I/O and no clock. Validation of the facts (user id formats, skew,
// lengths) is the server's; Parse only maps the payload, field by field, and says
// which field of which item it could not read.
package webhook

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"google.golang.org/protobuf/types/known/timestamppb"

	convstatev1 "github.com/convstate/convstate/gen/go/convstate/v1"
	"github.com/convstate/convstate/pricing"
)

// Item is one fact read from a webhook body, or an item that could not be read:
// then Fact is nil, and Field and Problem say why.
type Item struct {
	Path string            // e.g. "entry[0].changes[0].value.statuses[1]"
	Fact *convstatev1.Fact // nil when the item could not be read
	// Field is the full path in the body of the field that could not be read, e.g.
	// "entry[0].changes[0].value.statuses[1].timestamp"; it may lie outside the item
	// (e.g. the value's metadata.phone_number_id). Set only when Fact is nil.
	Field string
	// Problem is what is wrong with Field, e.g. "missing". Set only when Fact is nil.
	Problem string
}

// Message is why the item could not be read, for people: "Field: Problem" ("" when
// it was read).
func (it Item) Message() string {
	if it.Fact != nil {
		return ""
	}
	return it.Field + ": " + it.Problem
}

// BodyError is Parse's error for a body that is not a Cloud API webhook at all.
type BodyError struct {
	Reason string
}

func (e *BodyError) Error() string { return e.Reason }

func bodyErr(format string, args ...any) error {
	return &BodyError{Reason: fmt.Sprintf(format, args...)}
}

// Parse reads the facts of a WhatsApp Cloud API webhook POST body. An error (a
// *BodyError) means the body as a whole is not a webhook (not JSON, no "entry"
// array...); an item that cannot be read becomes an Item with Field and Problem
// instead of a Fact, and the others are still returned, in body order. ignored
// counts changes of fields convstate does not use (e.g. account_update).
//
// The mapping:
//
//   - field "messages" (and "calls", the Calling API's field), value.metadata.
//     phone_number_id = business_id:
//   - value.messages[]: every inbound message the user sent, whatever its type
//     (text, button, interactive, reaction, unsupported...), is a UserMessage;
//     "system" messages (number or identity changes) are not user activity and
//     are skipped. The user is the business-scoped user id (BSUID, "from_user_id",
//     or "from" when it holds one) with its phone as user_phone when both are known
//     (the wa_id: "from", or the contact's wa_id paired by user_id), so that convstate
//     learns they are one user and files the message under the phone; else whichever
//     is known. A referral with source_type "ad" marks a Click-to-WhatsApp entry point.
//   - value.statuses[]: sent, delivered, read and failed are StatusUpdates with
//     errors[0].code (failed), the recipient (the phone when known, with the BSUID
//     beside it) and Meta's pricing object; other statuses are items that cannot be
//     read; statuses of calls (type "call") are skipped.
//   - value.calls[]: a call the user placed (direction USER_INITIATED, or without
//     direction "from" other than the business's display number) is a UserCall,
//     one per event (connect, terminate: the server deduplicates on the call id);
//     business-initiated calls are skipped.
//   - field "smb_message_echoes": value.message_echoes[] are free-form
//     BusinessMessages; a template echo cannot be rated (no category) and is an
//     item that cannot be read; revoke and edit echoes are not new messages and are
//     skipped.
//   - field "template_category_update": a TemplateCategoryChange at the entry's
//     time; an advance notice (correct_category without new_category) is ignored.
//   - any other field is ignored.
func Parse(body []byte) (items []Item, ignored int, err error) {
	if !json.Valid(body) {
		var v any
		if jerr := json.Unmarshal(body, &v); jerr != nil {
			return nil, 0, bodyErr("the body is not JSON: %v", jerr)
		}
		return nil, 0, bodyErr("the body is not JSON")
	}
	top, ok := object(body)
	if !ok {
		return nil, 0, bodyErr("the body is not a JSON object")
	}
	if raw := top["object"]; !absent(raw) {
		if s, ok := scalar(raw); !ok || s != "whatsapp_business_account" {
			return nil, 0, bodyErr("\"object\" is %s, not \"whatsapp_business_account\": not a WhatsApp Business Account webhook", short(raw))
		}
	}
	if absent(top["entry"]) {
		for _, k := range []string{"statuses", "messages", "contacts"} {
			if !absent(top[k]) {
				return nil, 0, bodyErr("not a Cloud API webhook: %q at the top level is the On-Premises API envelope (sunset 2025-10-23)", k)
			}
		}
		return nil, 0, bodyErr("not a Cloud API webhook: no \"entry\" array")
	}
	entries, ok := array(top["entry"])
	if !ok {
		return nil, 0, bodyErr("not a Cloud API webhook: \"entry\" is not an array")
	}
	p := &parser{}
	for i, raw := range entries {
		p.entry(fmt.Sprintf("entry[%d]", i), raw)
	}
	return p.items, p.ignored, nil
}

type parser struct {
	items   []Item
	ignored int
}

func (p *parser) add(path string, f *convstatev1.Fact) {
	p.items = append(p.items, Item{Path: path, Fact: f})
}

// fail records an item that could not be read; field is the full path of the
// offending field (it may lie outside the item, e.g. the value's metadata).
func (p *parser) fail(path, field, problem string) {
	p.items = append(p.items, Item{Path: path, Field: field, Problem: problem})
}

func (p *parser) entry(path string, raw json.RawMessage) {
	e, ok := object(raw)
	if !ok {
		p.fail(path, path, "not an object")
		return
	}
	if absent(e["changes"]) {
		p.fail(path, path+".changes", "missing")
		return
	}
	changes, ok := array(e["changes"])
	if !ok {
		p.fail(path, path+".changes", "not an array")
		return
	}
	for j, raw := range changes {
		p.change(path, e, fmt.Sprintf("%s.changes[%d]", path, j), raw)
	}
}

func (p *parser) change(entryPath string, entry obj, path string, raw json.RawMessage) {
	c, ok := object(raw)
	if !ok {
		p.fail(path, path, "not an object")
		return
	}
	field, bad := c.text("field")
	switch {
	case bad:
		p.fail(path, path+".field", "not a string")
		return
	case field == "":
		p.fail(path, path+".field", "missing")
		return
	}
	switch field {
	case "messages", "calls", "smb_message_echoes", "template_category_update":
	default:
		p.ignored++
		return
	}
	vpath := path + ".value"
	v, ok := object(c["value"])
	if !ok {
		p.fail(vpath, vpath, missingOr(c["value"], "not an object"))
		return
	}
	switch field {
	case "messages", "calls":
		newValue(p, vpath, v).messagesValue()
	case "smb_message_echoes":
		newValue(p, vpath, v).echoes()
	case "template_category_update":
		p.categoryUpdate(entryPath, entry, vpath, v)
	}
}

func missingOr(raw json.RawMessage, problem string) string {
	if absent(raw) {
		return "missing"
	}
	return problem
}

// contact pairs a user's phone (wa_id) with their business-scoped user id.
type contact struct{ waID, userID string }

// value is a "messages", "calls" or "smb_message_echoes" change's value.
type value struct {
	p        *parser
	path     string
	v        obj
	business string // metadata.phone_number_id
	display  string // metadata.display_phone_number, digits only
	contacts []contact
}

func newValue(p *parser, path string, v obj) *value {
	x := &value{p: p, path: path, v: v}
	if md, ok := object(v["metadata"]); ok {
		x.business = md.str("phone_number_id")
		x.display = digits(md.str("display_phone_number"))
	}
	if cs, ok := array(v["contacts"]); ok {
		for _, raw := range cs {
			if c, ok := object(raw); ok {
				x.contacts = append(x.contacts, contact{waID: c.str("wa_id"), userID: c.str("user_id")})
			}
		}
	}
	return x
}

// list iterates over the elements of the array field key of the value; a field
// that is present but not an array is one item that cannot be read.
func (x *value) list(key string, each func(path string, o obj)) {
	raw := x.v[key]
	if absent(raw) {
		return
	}
	path := x.path + "." + key
	a, ok := array(raw)
	if !ok {
		x.p.fail(path, path, "not an array")
		return
	}
	for i, raw := range a {
		ipath := fmt.Sprintf("%s[%d]", path, i)
		o, ok := object(raw)
		if !ok {
			x.p.fail(ipath, ipath, "not an object")
			continue
		}
		each(ipath, o)
	}
}

// businessID is metadata.phone_number_id, or records why the item has none.
func (x *value) businessID(path string) (string, bool) {
	if x.business == "" {
		x.p.fail(path, x.path+".metadata.phone_number_id", "missing")
		return "", false
	}
	return x.business, true
}

// user picks the user id of an item and the user's phone: the BSUID and its phone
// (wa_id) when both are known, so that convstate learns they are one user (and files
// the fact under the phone); else whichever is known, and no phone. phoneKey holds the
// phone (or, from users without a visible phone, sometimes the BSUID), bsuidKey the
// BSUID; the value's contacts pair a BSUID with its wa_id. ok is false (and the item
// recorded as failed) when the item names no user.
func (x *value) user(path string, o obj, phoneKey, bsuidKey string) (user, userPhone string, ok bool) {
	phone, bad := o.text(phoneKey)
	if bad {
		x.p.fail(path, path+"."+phoneKey, "not a string")
		return "", "", false
	}
	bsuid, bad := o.text(bsuidKey)
	if bad {
		x.p.fail(path, path+"."+bsuidKey, "not a string")
		return "", "", false
	}
	phone, bsuid = x.identify(phone, bsuid)
	switch {
	case phone != "" && bsuid != "":
		return bsuid, phone, true
	case phone != "":
		return phone, "", true
	case bsuid != "":
		return bsuid, "", true
	}
	x.p.fail(path, path+"."+phoneKey, fmt.Sprintf("missing (no %s, %s or contact)", phoneKey, bsuidKey))
	return "", "", false
}

// isBSUID tells a business-scoped user id ("US.13491208655302741918", parent
// "US.ENT.1181...") from a wa_id (digits): it has a dot after the country code.
func isBSUID(s string) bool { return strings.Contains(s, ".") }

func digits(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// required reads a required text field of an item.
func (x *value) required(path string, o obj, key string) (string, bool) {
	s, bad := o.text(key)
	switch {
	case bad:
		x.p.fail(path, path+"."+key, "not a string")
		return "", false
	case s == "":
		x.p.fail(path, path+"."+key, "missing")
		return "", false
	}
	return s, true
}

// timestamp reads an item's "timestamp" (Unix seconds, string or number).
func (x *value) timestamp(path string, o obj) (*timestamppb.Timestamp, bool) {
	ts, problem := unixSeconds(o["timestamp"])
	if problem != "" {
		x.p.fail(path, path+".timestamp", problem)
		return nil, false
	}
	return ts, true
}

func (x *value) messagesValue() {
	x.list("messages", x.message)
	x.list("statuses", x.status)
	x.list("calls", x.call)
	// value.errors (webhook-level errors, e.g. a message type the API cannot
	// deliver) carry no fact: ignored.
}

// message is an inbound message: user activity, whatever its type.
func (x *value) message(path string, o obj) {
	typ := strings.ToLower(o.str("type"))
	if typ == "system" {
		// A system message (the user changed number or identity) is WhatsApp's
		// notice, not something the user sent: it does not open the window.
		return
	}
	business, user, phone, id, ts, ok := x.fact(path, o, "from", "from_user_id")
	if !ok {
		return
	}
	m := &convstatev1.UserMessage{BusinessId: business, UserId: user, UserPhone: phone, MessageId: id, Timestamp: ts}
	if ref, ok := object(o["referral"]); ok && strings.EqualFold(ref.str("source_type"), "ad") {
		m.EntryPoint = convstatev1.EntryPoint_ENTRY_POINT_CLICK_TO_WHATSAPP_AD
	}
	x.p.add(path, &convstatev1.Fact{Kind: &convstatev1.Fact_UserMessage{UserMessage: m}})
}

var statusNames = map[string]convstatev1.MessageStatus{
	"sent":      convstatev1.MessageStatus_MESSAGE_STATUS_SENT,
	"delivered": convstatev1.MessageStatus_MESSAGE_STATUS_DELIVERED,
	"read":      convstatev1.MessageStatus_MESSAGE_STATUS_READ,
	"failed":    convstatev1.MessageStatus_MESSAGE_STATUS_FAILED,
}

// status is a status of a business message.
func (x *value) status(path string, o obj) {
	if strings.EqualFold(o.str("type"), "call") {
		// RINGING / ACCEPTED / REJECTED of a business-initiated call: not a
		// message status, and not user activity.
		return
	}
	business, ok := x.businessID(path)
	if !ok {
		return
	}
	id, ok := x.required(path, o, "id")
	if !ok {
		return
	}
	name, ok := x.required(path, o, "status")
	if !ok {
		return
	}
	st, ok := statusNames[strings.ToLower(name)]
	switch {
	case !ok && (strings.EqualFold(name, "played") || strings.EqualFold(name, "deleted")):
		// A voice message played, a message deleted: nothing for the window or the
		// charge (it was delivered before), so not a fact and not an error.
		x.p.ignored++
		return
	case !ok:
		x.p.fail(path, path+".status", fmt.Sprintf("unsupported status %s (convstate reads sent, delivered, read and failed)", strconv.Quote(name)))
		return
	}
	ts, ok := x.timestamp(path, o)
	if !ok {
		return
	}
	s := &convstatev1.StatusUpdate{BusinessId: business, MessageId: id, Status: st, Timestamp: ts}
	if st == convstatev1.MessageStatus_MESSAGE_STATUS_FAILED {
		code, problem := errorCode(o["errors"])
		if problem != "" {
			x.p.fail(path, path+".errors[0].code", problem)
			return
		}
		s.ErrorCode = code
	}
	// The recipient is optional (convstate knows the recipient of a message it saw
	// sent); failed statuses of messages sent to a phone carry only recipient_id.
	s.RecipientId, s.RecipientUserId = x.recipient(o)
	if pr, ok := object(o["pricing"]); ok {
		s.Pricing = reportedPricing(pr)
	}
	// o["conversation"] ({id, expiration_timestamp, origin.type}) is read by
	// nobody: StatusUpdate has no field for it.
	x.p.add(path, &convstatev1.Fact{Kind: &convstatev1.Fact_Status{Status: s}})
}

// recipient is a status's user: recipient_id when it is a phone, else the phone
// paired with recipient_user_id in the contacts, else the BSUID. bsuid is the
// BSUID beside a phone user (empty when the user is the BSUID): the sender may
// record the message to either, possibly after this status.
func (x *value) recipient(o obj) (user, bsuid string) {
	phone, bsuid := x.identify(o.str("recipient_id"), o.str("recipient_user_id"))
	if phone == "" {
		return bsuid, ""
	}
	return phone, bsuid
}

// identify sorts out the two ids an item may name a user by: its phone (which from a
// user without a visible phone is sometimes the BSUID) and its BSUID, paired with a
// wa_id by the value's contacts when the phone is missing. Beside a phone, a BSUID
// that is not a pair's id (a parent BSUID, US.ENT.…) is left out.
func (x *value) identify(phone, bsuid string) (string, string) {
	if isBSUID(phone) {
		if bsuid == "" {
			bsuid = phone
		}
		phone = ""
	}
	if phone == "" && bsuid != "" {
		for _, c := range x.contacts {
			if c.userID == bsuid && c.waID != "" && !isBSUID(c.waID) {
				phone = c.waID
				break
			}
		}
	}
	if phone != "" && !pricing.IsBSUID(bsuid) {
		bsuid = ""
	}
	return phone, bsuid
}

// errorCode is errors[0].code of a failed status (0 when Meta sent no errors).
func errorCode(raw json.RawMessage) (int32, string) {
	if absent(raw) {
		return 0, ""
	}
	errs, ok := array(raw)
	if !ok || len(errs) == 0 {
		return 0, ""
	}
	e, ok := object(errs[0])
	if !ok || absent(e["code"]) {
		return 0, ""
	}
	s, ok := scalar(e["code"])
	n, err := strconv.ParseInt(s, 10, 32)
	if !ok || err != nil || n < 0 {
		return 0, fmt.Sprintf("%s is not an error code", short(e["code"]))
	}
	return int32(n), ""
}

// reportedPricing copies Meta's pricing object, normalised to the spellings of
// ReportedPricing: the model upper case ("PMP"), category and type lower case with
// underscores ("authentication-international" → "authentication_international").
func reportedPricing(o obj) *convstatev1.ReportedPricing {
	norm := func(s string) string { return strings.ReplaceAll(strings.ToLower(s), "-", "_") }
	r := &convstatev1.ReportedPricing{
		PricingModel: strings.ToUpper(o.str("pricing_model")),
		Category:     norm(o.str("category")),
		Type:         norm(o.str("type")),
	}
	if raw := o["billable"]; !absent(raw) {
		var b bool
		if err := json.Unmarshal(raw, &b); err == nil {
			r.Billable = &b
		} else if s, ok := scalar(raw); ok && (s == "true" || s == "false") {
			b = s == "true"
			r.Billable = &b
		}
	}
	return r
}

// call is a Calling API event; only calls the user placed are facts.
func (x *value) call(path string, o obj) {
	switch dir := strings.ToUpper(o.str("direction")); dir {
	case "USER_INITIATED":
	case "BUSINESS_INITIATED":
		return // business-placed calls do not open the window
	case "":
		from := digits(o.str("from"))
		if x.display == "" {
			x.p.fail(path, path+".direction", "missing, and without metadata.display_phone_number the caller is unknown")
			return
		}
		if from == x.display {
			return // the business called
		}
	default:
		x.p.fail(path, path+".direction", fmt.Sprintf("unknown direction %s", strconv.Quote(o.str("direction"))))
		return
	}
	business, user, phone, id, ts, ok := x.fact(path, o, "from", "from_user_id")
	if !ok {
		return
	}
	x.p.add(path, &convstatev1.Fact{Kind: &convstatev1.Fact_UserCall{UserCall: &convstatev1.UserCall{
		BusinessId: business, UserId: user, UserPhone: phone, CallId: id, Timestamp: ts,
	}}})
}

// fact reads what every user-side fact has: the business (the value's phone
// number id), the user (a phone field, else a BSUID field), the id and Meta's
// timestamp. A missing one is an item error.
func (x *value) fact(path string, o obj, phoneField, bsuidField string) (business, user, phone, id string, ts *timestamppb.Timestamp, ok bool) {
	if business, ok = x.businessID(path); !ok {
		return
	}
	if user, phone, ok = x.user(path, o, phoneField, bsuidField); !ok {
		return
	}
	if id, ok = x.required(path, o, "id"); !ok {
		return
	}
	ts, ok = x.timestamp(path, o)
	return
}

// echoes are messages the business sent from the WhatsApp Business app.
func (x *value) echoes() {
	x.list("message_echoes", func(path string, o obj) {
		typ := strings.ToLower(o.str("type"))
		switch typ {
		case "revoke", "edit":
			return // a deletion or an edit of an earlier message, not a new one
		case "template":
			x.p.fail(path, path+".type", "template echo without category (the echo does not say the template's category, which decides its charge)")
			return
		}
		business, user, phone, id, ts, ok := x.fact(path, o, "to", "to_user_id")
		if !ok {
			return
		}
		x.p.add(path, &convstatev1.Fact{Kind: &convstatev1.Fact_BusinessMessage{BusinessMessage: &convstatev1.BusinessMessage{
			BusinessId: business, UserId: user, UserPhone: phone, MessageId: id, Timestamp: ts,
		}}})
	})
}

var categories = map[string]convstatev1.TemplateCategory{
	"MARKETING":                    convstatev1.TemplateCategory_TEMPLATE_CATEGORY_MARKETING,
	"UTILITY":                      convstatev1.TemplateCategory_TEMPLATE_CATEGORY_UTILITY,
	"AUTHENTICATION":               convstatev1.TemplateCategory_TEMPLATE_CATEGORY_AUTHENTICATION,
	"AUTHENTICATION_INTERNATIONAL": convstatev1.TemplateCategory_TEMPLATE_CATEGORY_AUTHENTICATION_INTERNATIONAL,
}

func category(s string) (convstatev1.TemplateCategory, bool) {
	c, ok := categories[strings.ReplaceAll(strings.ToUpper(strings.TrimSpace(s)), "-", "_")]
	return c, ok
}

// categoryUpdate is a template_category_update change.
func (p *parser) categoryUpdate(entryPath string, entry obj, path string, v obj) {
	newCat, bad := v.text("new_category")
	if bad {
		p.fail(path, path+".new_category", "not a string")
		return
	}
	if newCat == "" {
		if v.str("correct_category") != "" {
			// Advance notice that the template will be re-categorised: the change
			// itself comes in a later webhook with new_category.
			p.ignored++
			return
		}
		p.fail(path, path+".new_category", "missing")
		return
	}
	nc, ok := category(newCat)
	if !ok {
		p.fail(path, path+".new_category", fmt.Sprintf("%s is not MARKETING, UTILITY or AUTHENTICATION", strconv.Quote(newCat)))
		return
	}
	var pc convstatev1.TemplateCategory
	if prev, bad := v.text("previous_category"); bad {
		p.fail(path, path+".previous_category", "not a string")
		return
	} else if prev != "" {
		if pc, ok = category(prev); !ok {
			p.fail(path, path+".previous_category", fmt.Sprintf("%s is not MARKETING, UTILITY or AUTHENTICATION", strconv.Quote(prev)))
			return
		}
	}
	name, bad := v.text("message_template_name")
	if bad || name == "" {
		p.fail(path, path+".message_template_name", missingOr(v["message_template_name"], "not a string"))
		return
	}
	waba, bad := entry.text("id")
	if bad || waba == "" {
		p.fail(path, entryPath+".id", missingOr(entry["id"], "not a string"))
		return
	}
	if absent(entry["time"]) {
		p.fail(path, entryPath+".time", "no time (a template_category_update takes effect at the entry's time)")
		return
	}
	ts, problem := unixSeconds(entry["time"])
	if problem != "" {
		p.fail(path, entryPath+".time", problem)
		return
	}
	p.add(path, &convstatev1.Fact{Kind: &convstatev1.Fact_TemplateCategoryChange{TemplateCategoryChange: &convstatev1.TemplateCategoryChange{
		WabaId: waba, TemplateName: name, PreviousCategory: pc, NewCategory: nc, Timestamp: ts,
	}}})
}
