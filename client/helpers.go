package client

import (
	"context"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	convstatev1 "github.com/convstate/convstate/gen/go/convstate/v1"
)

// UserMessage records a message from the user at Meta's timestamp at and returns
// the pair's window expiry after it.
func (c *Client) UserMessage(ctx context.Context, businessID, userID, messageID string, at time.Time) (*convstatev1.RecordUserMessageResponse, error) {
	return c.RecordUserMessage(ctx, &convstatev1.RecordUserMessageRequest{Message: &convstatev1.UserMessage{
		BusinessId: businessID, UserId: userID, MessageId: messageID, Timestamp: timestamppb.New(at),
	}})
}

// Sent records a message the business sent: a template of a category, or free-form
// (TEMPLATE_CATEGORY_UNSPECIFIED).
func (c *Client) Sent(ctx context.Context, businessID, userID, messageID string, at time.Time, template convstatev1.TemplateCategory) (*convstatev1.RecordBusinessMessageResponse, error) {
	return c.RecordBusinessMessage(ctx, &convstatev1.RecordBusinessMessageRequest{Message: &convstatev1.BusinessMessage{
		BusinessId: businessID, UserId: userID, MessageId: messageID, Timestamp: timestamppb.New(at), Template: template,
	}})
}

// Status records a status of a business message and returns the charge when this
// status decided it (nil otherwise).
func (c *Client) Status(ctx context.Context, businessID, messageID string, st convstatev1.MessageStatus, at time.Time, errorCode int32) (*convstatev1.Charge, error) {
	r, err := c.RecordStatus(ctx, &convstatev1.RecordStatusRequest{Status: &convstatev1.StatusUpdate{
		BusinessId: businessID, MessageId: messageID, Status: st, Timestamp: timestamppb.New(at), ErrorCode: errorCode,
	}})
	if err != nil {
		return nil, err
	}
	return r.GetCharge(), nil
}

// CanSendFreeForm asks whether a free-form message may be sent to the user now.
func (c *Client) CanSendFreeForm(ctx context.Context, businessID, userID string) (bool, *convstatev1.DecideResponse, error) {
	d, err := c.Decide(ctx, &convstatev1.DecideRequest{BusinessId: businessID, UserId: userID})
	if err != nil {
		return false, nil, err
	}
	return d.GetFreeFormAllowed(), d, nil
}

// Quote returns what a template of the category (or a free-form message, for
// TEMPLATE_CATEGORY_UNSPECIFIED) would cost if delivered to the user now.
func (c *Client) Quote(ctx context.Context, businessID, userID string, template convstatev1.TemplateCategory) (*convstatev1.Charge, error) {
	d, err := c.Decide(ctx, &convstatev1.DecideRequest{BusinessId: businessID, UserId: userID, Template: template})
	if err != nil {
		return nil, err
	}
	return d.GetQuote(), nil
}
