package ledger

import (
	"cmp"
	"fmt"
	"slices"

	storagev1 "github.com/convstate/convstate/gen/go/convstate/storage/v1"
	convstatev1 "github.com/convstate/convstate/gen/go/convstate/v1"
)

// templateChange records Meta re-categorising a template. Changes are kept in time
// order, so a late webhook still applies to messages sent after its time.
func (a *applier) templateChange(p *prepared, m *convstatev1.TemplateCategoryChange) (*convstatev1.TemplateCategoryChangeResult, error) {
	h, err := a.tx.Template(m.GetWabaId(), m.GetTemplateName())
	if notFound(err) {
		h, err = &storagev1.TemplateHistory{}, nil
	}
	if err != nil {
		return nil, err
	}
	c := &storagev1.TemplateChange{At: p.at, PreviousCategory: int32(m.GetPreviousCategory()), NewCategory: int32(m.GetNewCategory())}
	for _, x := range h.Changes {
		if x.At == c.At && x.NewCategory == c.NewCategory {
			return &convstatev1.TemplateCategoryChangeResult{Duplicate: true}, nil
		}
	}
	i, _ := slices.BinarySearchFunc(h.Changes, c.At, func(x *storagev1.TemplateChange, t int64) int {
		return cmp.Compare(x.At, t)
	})
	h.Changes = slices.Insert(h.Changes, i, c)
	if err := a.tx.PutTemplate(m.GetWabaId(), m.GetTemplateName(), h); err != nil {
		return nil, err
	}
	return &convstatev1.TemplateCategoryChangeResult{}, nil
}

// categoryAt returns a template's category at time t by its history, or given when
// the history does not say: the latest change at or before t, else the category
// before the first change.
func categoryAt(h *storagev1.TemplateHistory, t int64, given int32) int32 {
	if h == nil || len(h.Changes) == 0 {
		return given
	}
	cat := int32(0)
	for _, c := range h.Changes {
		if c.At <= t {
			cat = c.NewCategory
		}
	}
	if cat == 0 {
		cat = h.Changes[0].PreviousCategory
	}
	if cat == 0 {
		return given
	}
	return cat
}

// rateAtTimeOfUse sets a template message's category to the one it had when sent,
// per Meta's re-categorisations, keeping the caller's in GivenTemplate.
func (a *applier) rateAtTimeOfUse(prof *profile, out *storagev1.Outbound, sentAt int64) error {
	if out.TemplateName == "" || out.Template == 0 {
		return nil
	}
	h, err := a.tx.Template(prof.rec.WabaId, out.TemplateName)
	if notFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if cat := categoryAt(h, sentAt, out.Template); cat != out.Template {
		out.GivenTemplate, out.Template = out.Template, cat
		out.Warnings = append(out.Warnings, int32(convstatev1.WarningCode_WARNING_CODE_TEMPLATE_RECATEGORIZED))
	}
	return nil
}

// recategorized explains a charge of a re-categorised template.
func recategorized(out *storagev1.Outbound) string {
	if out.GivenTemplate == 0 || out.GivenTemplate == out.Template {
		return ""
	}
	return fmt.Sprintf("; template %q was re-categorised by Meta (recorded as %s): rated at %s, its category when sent",
		out.TemplateName, templateName(out.GivenTemplate), templateName(out.Template))
}

func templateName(c int32) string {
	return templateCategory(convstatev1.TemplateCategory(c)).String()
}
