package server

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/convstate/convstate/ledger"
)

// collector runs garbage collection, one pass at a time.
type collector struct {
	mu       sync.Mutex
	led      *ledger.Ledger
	log      *slog.Logger
	deleted  *prometheus.CounterVec
	examined prometheus.Counter
}

func (c *collector) run(ctx context.Context) (ledger.GCStats, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	st, err := c.led.CollectGarbage(ctx)
	c.deleted.WithLabelValues("fact").Add(float64(st.Facts))
	c.deleted.WithLabelValues("pair").Add(float64(st.Pairs))
	c.deleted.WithLabelValues("index_entry").Add(float64(st.IndexEntries))
	c.examined.Add(float64(st.Examined))
	return st, err
}

// loop collects every interval until ctx ends.
func (c *collector) loop(ctx context.Context, every time.Duration, until func(time.Time) <-chan time.Time, now func() time.Time) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-until(now().Add(every)):
		}
		start := time.Now()
		st, err := c.run(ctx)
		if err != nil {
			if ctx.Err() == nil {
				c.log.Error("garbage collection", "err", err)
			}
			continue
		}
		c.log.Info("garbage collection", "facts", st.Facts, "pairs", st.Pairs, "index_entries", st.IndexEntries,
			"examined", st.Examined, "took", time.Since(start).Round(time.Millisecond).String())
	}
}
