package storetest

// The contracts of the transactions: atomicity, isolation, concurrency, cancellation, Close.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"google.golang.org/protobuf/proto"

	storagev1 "github.com/convstate/convstate/gen/go/convstate/storage/v1"
	"github.com/convstate/convstate/store"
)

func testFailedUpdate(t *testing.T, s store.Store) {
	errBoom := errors.New("boom")
	shared := store.CounterKey{Kind: "k", ID: "shared", Month: "2025-07"}
	const rounds = 8
	var wg sync.WaitGroup
	errs := make([]error, 2*rounds)
	// Failing and succeeding Updates run concurrently, so a group-committing store puts them
	// in the same transaction.
	for i := range rounds {
		wg.Go(func() {
			errs[2*i] = s.Update(t.Context(), func(tx store.Tx) error {
				if _, err := tx.AddCounter(shared, 100); err != nil {
					return err
				}
				if err := tx.PutFact("b1", fmt.Sprint("fail.", i), activityFact("u1")); err != nil {
					return err
				}
				if err := tx.PutPair(pair("b1", fmt.Sprint("fail.", i), 100)); err != nil {
					return err
				}
				if err := tx.PutBusiness(business(fmt.Sprint("fail.", i))); err != nil {
					return err
				}
				if err := tx.AddUsage(store.UsageKey{Scope: store.ScopeBusiness, ID: "b1", Month: "2025-07"}, &storagev1.Usage{Volume: 1}); err != nil {
					return err
				}
				return fmt.Errorf("round %d: %w", i, errBoom)
			})
		})
		wg.Go(func() {
			errs[2*i+1] = s.Update(t.Context(), func(tx store.Tx) error {
				if _, err := tx.AddCounter(shared, 1); err != nil {
					return err
				}
				return tx.PutFact("b1", fmt.Sprint("ok.", i), activityFact("u1"))
			})
		})
	}
	wg.Wait()
	for i := range rounds {
		if !errors.Is(errs[2*i], errBoom) {
			t.Errorf("failing Update %d returned %v, want its error", i, errs[2*i])
		}
		if errs[2*i+1] != nil {
			t.Errorf("succeeding Update %d returned %v", i, errs[2*i+1])
		}
	}
	view(t, s, func(r store.ReadTx) error {
		if n, err := r.Counter(shared); n != rounds || err != nil {
			t.Errorf("shared counter = %d, %v; want %d (only the successful Updates)", n, err, rounds)
		}
		for i := range rounds {
			if _, err := r.Fact("b1", fmt.Sprint("ok.", i)); err != nil {
				t.Errorf("fact of successful Update %d: %v", i, err)
			}
			_, err := r.Fact("b1", fmt.Sprint("fail.", i))
			wantNotFound(t, "fact of failed Update", err)
			_, err = r.Pair("b1", fmt.Sprint("fail.", i))
			wantNotFound(t, "pair of failed Update", err)
			_, err = r.Business(fmt.Sprint("fail.", i))
			wantNotFound(t, "business of failed Update", err)
		}
		return nil
	})
	if got := expiring(t, s, 0, math.MaxInt64); len(got) != 0 {
		t.Errorf("failed Updates left expiry entries: %v", got)
	}
	if got := usageRows(t, s, store.ScopeBusiness, "b1", "2025-07"); len(got) != 0 {
		t.Errorf("failed Updates left usage rows: %v", got)
	}
}

func testConcurrentUpdates(t *testing.T, s store.Store) {
	const n = 64
	shared := store.CounterKey{Kind: "k", ID: "shared", Month: "2025-07"}
	seen := make([]int64, n) // the shared counter's value as each Update's committed run saw it
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			errs[i] = s.Update(t.Context(), func(tx store.Tx) error {
				v, err := tx.AddCounter(shared, 1)
				if err != nil {
					return err
				}
				seen[i] = v // assigned on every run, as the Update contract asks
				// Its own earlier writes are visible to the rest of fn.
				if got, err := tx.Counter(shared); got != v || err != nil {
					return fmt.Errorf("Counter after AddCounter = %d, %v; want %d", got, err, v)
				}
				own := store.CounterKey{Kind: "k", ID: fmt.Sprint("own.", i), Month: "2025-07"}
				if _, err := tx.AddCounter(own, 3); err != nil {
					return err
				}
				if got, err := tx.Counter(own); got != 3 || err != nil {
					return fmt.Errorf("own Counter = %d, %v; want 3", got, err)
				}
				f := activityFact(fmt.Sprint("u", i))
				if err := tx.PutFact("b1", fmt.Sprint("wamid.", i), f); err != nil {
					return err
				}
				got, err := tx.Fact("b1", fmt.Sprint("wamid.", i))
				if err != nil {
					return fmt.Errorf("own Fact: %w", err)
				}
				if !proto.Equal(got, f) {
					return fmt.Errorf("own Fact = %v, want %v", got, f)
				}
				return nil
			})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Update %d: %v", i, err)
		}
	}
	// Serializable: every Update saw a different value, 1..n.
	slices.Sort(seen)
	want := make([]int64, n)
	for i := range want {
		want[i] = int64(i + 1)
	}
	diff(t, "values the shared counter had in each Update", want, seen)
	view(t, s, func(r store.ReadTx) error {
		if got, err := r.Counter(shared); got != n || err != nil {
			t.Errorf("shared counter = %d, %v; want %d", got, err, n)
		}
		for i := range n {
			if got, err := r.Counter(store.CounterKey{Kind: "k", ID: fmt.Sprint("own.", i), Month: "2025-07"}); got != 3 || err != nil {
				t.Errorf("own counter %d = %d, %v; want 3", i, got, err)
			}
			if _, err := r.Fact("b1", fmt.Sprint("wamid.", i)); err != nil {
				t.Errorf("fact %d: %v", i, err)
			}
		}
		return nil
	})
}

// blockedUpdate starts an Update that writes a fact and a counter and then waits inside fn until
// release is called; it returns once the writes are made.
func blockedUpdate(t *testing.T, s store.Store, businessID string) (release func() error) {
	t.Helper()
	written, unblock := make(chan struct{}), make(chan struct{})
	var once sync.Once
	errc := make(chan error, 1)
	go func() {
		errc <- s.Update(context.Background(), func(tx store.Tx) error {
			if err := tx.PutFact(businessID, "wamid.1", activityFact("u1")); err != nil {
				return err
			}
			if _, err := tx.AddCounter(store.CounterKey{Kind: "k", ID: businessID}, 1); err != nil {
				return err
			}
			once.Do(func() { close(written) }) // fn may run again; signal once
			<-unblock
			return nil
		})
	}()
	select {
	case <-written:
	case err := <-errc:
		t.Fatalf("Update returned before writing: %v", err)
	}
	return func() error {
		close(unblock)
		return <-errc
	}
}

func testViewIsolation(t *testing.T, s store.Store) {
	release := blockedUpdate(t, s, "b1")
	view(t, s, func(r store.ReadTx) error {
		_, err := r.Fact("b1", "wamid.1")
		wantNotFound(t, "Fact written by an uncommitted Update", err)
		if n, err := r.Counter(store.CounterKey{Kind: "k", ID: "b1"}); n != 0 || err != nil {
			t.Errorf("counter of an uncommitted Update = %d, %v; want 0", n, err)
		}
		return nil
	})
	if err := release(); err != nil {
		t.Fatalf("Update: %v", err)
	}
	view(t, s, func(r store.ReadTx) error {
		if _, err := r.Fact("b1", "wamid.1"); err != nil {
			t.Errorf("Fact after commit: %v", err)
		}
		if n, err := r.Counter(store.CounterKey{Kind: "k", ID: "b1"}); n != 1 || err != nil {
			t.Errorf("counter after commit = %d, %v; want 1", n, err)
		}
		return nil
	})
}

func testCancelled(t *testing.T, s store.Store) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	var ran atomic.Bool // fn may run on another goroutine
	if err := s.View(ctx, func(store.ReadTx) error { ran.Store(true); return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("View with a cancelled context = %v, want context.Canceled", err)
	}
	if err := s.Update(ctx, func(tx store.Tx) error {
		ran.Store(true)
		return tx.PutBusiness(business("b1"))
	}); !errors.Is(err, context.Canceled) {
		t.Errorf("Update with a cancelled context = %v, want context.Canceled", err)
	}
	if ran.Load() {
		t.Error("fn ran despite the cancelled context")
	}
	if _, err := s.Backup(ctx, new(bytes.Buffer)); !errors.Is(err, context.Canceled) {
		t.Errorf("Backup with a cancelled context = %v, want context.Canceled", err)
	}
	view(t, s, func(r store.ReadTx) error {
		_, err := r.Business("b1")
		wantNotFound(t, "Business from a cancelled Update", err)
		return nil
	})
}

func testBackup(t *testing.T, s store.Store) {
	update(t, s, func(tx store.Tx) error { return tx.PutPair(pair("b1", "u1", 100)) })
	var buf bytes.Buffer
	n, err := s.Backup(t.Context(), &buf)
	if err != nil {
		t.Fatalf("Backup: %v", err)
	}
	if n <= 0 || n != int64(buf.Len()) {
		t.Errorf("Backup reported %d bytes and wrote %d", n, buf.Len())
	}
}

func testCloseWaits(t *testing.T, s store.Store) {
	release := blockedUpdate(t, s, "b1")
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	// Whether or not Close has begun, the running Update commits and reports success.
	if err := release(); err != nil {
		t.Errorf("Update running when Close was called: %v", err)
	}
	if err := <-closed; err != nil {
		t.Errorf("Close: %v", err)
	}
}

func testClosed(t *testing.T, s store.Store) {
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	var ran atomic.Bool
	if err := s.View(t.Context(), func(store.ReadTx) error { ran.Store(true); return nil }); !errors.Is(err, store.ErrClosed) {
		t.Errorf("View after Close = %v, want ErrClosed", err)
	}
	if err := s.Update(t.Context(), func(store.Tx) error { ran.Store(true); return nil }); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Update after Close = %v, want ErrClosed", err)
	}
	if ran.Load() {
		t.Error("fn ran after Close")
	}
	if _, err := s.Backup(t.Context(), new(bytes.Buffer)); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Backup after Close = %v, want ErrClosed", err)
	}
	if err := s.Close(); !errors.Is(err, store.ErrClosed) {
		t.Errorf("second Close = %v, want ErrClosed", err)
	}
}
