package replay

import (
	"bytes"
	"fmt"
	"unicode/utf8"

	"google.golang.org/grpc/codes"

	convstatev1 "github.com/convstate/convstate/gen/go/convstate/v1"
)

// The --webhooks mode: every input line (blank and # lines skipped) is the body of
// a WhatsApp Cloud API webhook POST, sent as is with IngestWebhook; each fact the
// server read from it gives one output line, in body order:
//
//	{"line":N,"path":"entry[0].changes[0].value.messages[0]","type":"user_message","window_expires_at":...}
//
// with "type" user_message, user_call, send (a message echo), status or
// template_category_change and the fields the fact replay writes for that kind
// ("duplicate", "window_expires_at", "warnings", "charge"), or "error" for a fact
// that was not recorded (an item the server could not read has no "type"). A body
// that is not a webhook gives one {"line":N,"error":{...}}; a body without facts
// (e.g. only an account_update) gives no line.

// webhookHead starts every output line of a webhook fact.
type webhookHead struct {
	Line      int    `json:"line"`
	Path      string `json:"path"`
	Type      string `json:"type,omitempty"`
	Duplicate bool   `json:"duplicate,omitempty"`
}

type webhookUserOut struct {
	webhookHead
	WindowExpiresAt *string `json:"window_expires_at"`
}

type webhookSendOut struct {
	webhookHead
	Warnings []string `json:"warnings,omitempty"`
}

type webhookStatusOut struct {
	webhookHead
	Charge *Charge `json:"charge,omitempty"`
}

type webhookErrorOut struct {
	Line  int       `json:"line"`
	Path  string    `json:"path"`
	Type  string    `json:"type,omitempty"`
	Error errorBody `json:"error"`
}

// webhook replays one input line of a --webhooks replay.
func (x *run) webhook(line []byte) error {
	if Skip(line) {
		return nil
	}
	n := x.stats.Lines
	body := bytes.TrimSpace(line)
	if !utf8.Valid(body) {
		// A protobuf string must be UTF-8: the request could not even be sent.
		x.stats.Facts++
		return x.fail(n, codes.InvalidArgument, "the body is not valid UTF-8")
	}
	resp, err := x.Window.IngestWebhook(x.ctx, &convstatev1.IngestWebhookRequest{Body: string(body)})
	if err != nil {
		x.stats.Facts++
		return x.callFailed(n, err)
	}
	for _, r := range resp.GetResults() {
		x.stats.Facts++
		if err := x.webhookResult(n, r); err != nil {
			return err
		}
	}
	x.progress(false)
	return nil
}

// webhookType is the replay name of a fact's kind, from the fact or else from its
// result.
func webhookType(f *convstatev1.Fact, r *convstatev1.FactResult) string {
	switch f.GetKind().(type) {
	case *convstatev1.Fact_UserMessage:
		return "user_message"
	case *convstatev1.Fact_UserCall:
		return "user_call"
	case *convstatev1.Fact_BusinessMessage:
		return "send"
	case *convstatev1.Fact_Status:
		return "status"
	case *convstatev1.Fact_TemplateCategoryChange:
		return "template_category_change"
	}
	switch r.GetResult().(type) {
	case *convstatev1.FactResult_UserMessage:
		return "user_message"
	case *convstatev1.FactResult_UserCall:
		return "user_call"
	case *convstatev1.FactResult_BusinessMessage:
		return "send"
	case *convstatev1.FactResult_Status:
		return "status"
	case *convstatev1.FactResult_TemplateCategoryChange:
		return "template_category_change"
	}
	return ""
}

func (x *run) webhookResult(line int, wr *convstatev1.WebhookFactResult) error {
	r := wr.GetResult()
	h := webhookHead{Line: line, Path: wr.GetPath(), Type: webhookType(wr.GetFact(), r)}
	switch v := r.GetResult().(type) {
	case *convstatev1.FactResult_Error:
		x.stats.Errors++
		return x.enc.Encode(webhookErrorOut{Line: line, Path: h.Path, Type: h.Type,
			Error: errorBody{Code: codes.Code(v.Error.GetCode()).String(), Message: v.Error.GetMessage()}})
	case *convstatev1.FactResult_UserMessage:
		h.Duplicate = v.UserMessage.GetDuplicate()
		return x.enc.Encode(webhookUserOut{h, timeString(v.UserMessage.GetWindowExpiresAt())})
	case *convstatev1.FactResult_UserCall:
		h.Duplicate = v.UserCall.GetDuplicate()
		return x.enc.Encode(webhookUserOut{h, timeString(v.UserCall.GetWindowExpiresAt())})
	case *convstatev1.FactResult_BusinessMessage:
		h.Duplicate = v.BusinessMessage.GetDuplicate()
		return x.enc.Encode(webhookSendOut{h, warnings(v.BusinessMessage.GetWarnings())})
	case *convstatev1.FactResult_Status:
		h.Duplicate = v.Status.GetDuplicate()
		c := v.Status.GetCharge()
		if c != nil && !h.Duplicate {
			x.noteCharge(wr.GetFact().GetStatus().GetBusinessId(), c.GetMonth())
		}
		return x.enc.Encode(webhookStatusOut{h, charge(c, x.Explain)})
	case *convstatev1.FactResult_TemplateCategoryChange:
		h.Duplicate = v.TemplateCategoryChange.GetDuplicate()
		return x.enc.Encode(h)
	}
	return fmt.Errorf("line %d, %s: the server returned an empty result", line, wr.GetPath())
}
