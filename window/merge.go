package window

import (
	"cmp"
	"slices"
)

// Merge adds the history of o to p: the clock of one user who was known under two ids
// (a business-scoped user id, and later the phone number it belongs to) is the clock
// their facts would have built under one. Activities and force-closes are merged as if
// recorded on p; entry points keep whether a window used them; free entry point windows
// and conversations, which charges opened, are kept as they were opened (the charges
// are decided again on the merged clock by the caller). The bounds of kept history
// apply as for facts recorded on p.
func (p *Pair) Merge(o *Pair) {
	for _, t := range o.Activity {
		p.AddActivity(t)
	}
	for _, t := range o.Closures {
		p.AddClosure(t)
	}
	for _, e := range o.EntryPoints {
		i, found := slices.BinarySearchFunc(p.EntryPoints, e.At, func(x EntryPoint, t int64) int { return cmp.Compare(x.At, t) })
		if found {
			p.EntryPoints[i].Used = p.EntryPoints[i].Used || e.Used
			continue
		}
		p.EntryPoints = slices.Insert(p.EntryPoints, i, e)
	}
	if len(p.EntryPoints) > MaxEntryPoints {
		p.EntryPoints = p.EntryPoints[len(p.EntryPoints)-MaxEntryPoints:]
	}
	for _, w := range o.FEPWindows {
		i, found := slices.BinarySearchFunc(p.FEPWindows, w.Start, func(x Interval, t int64) int { return cmp.Compare(x.Start, t) })
		if found && p.FEPWindows[i] == w {
			continue
		}
		p.FEPWindows = slices.Insert(p.FEPWindows, i, w)
	}
	if len(p.FEPWindows) > MaxFEPWindows {
		p.FEPWindows = p.FEPWindows[len(p.FEPWindows)-MaxFEPWindows:]
	}
	for _, c := range o.Conversations {
		if !slices.Contains(p.Conversations, c) {
			p.AddConversation(c)
		}
	}
}
