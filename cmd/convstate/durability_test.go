package main

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/convstate/convstate/client"
	convstatev1 "github.com/convstate/convstate/gen/go/convstate/v1"
	"github.com/convstate/convstate/store"
)

const durBiz, durUser = "106540352242922", "5511987654321"

// acked is the set of facts the server acknowledged.
type acked struct {
	mu  sync.Mutex
	ids []string
}

func (a *acked) add(id string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.ids = append(a.ids, id)
	return len(a.ids)
}

func (a *acked) snapshot() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.ids...)
}

// write records business messages from several goroutines until ctx ends or a
// call fails, adding each acknowledged id; onAck sees the running count.
func write(ctx context.Context, c *client.Client, prefix string, a *acked, onAck func(int)) {
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				id := fmt.Sprintf("%s-%d-%d", prefix, w, i)
				_, err := c.Sent(ctx, durBiz, durUser, id, time.Now().Add(-time.Minute), convstatev1.TemplateCategory_TEMPLATE_CATEGORY_UTILITY)
				if err != nil {
					return
				}
				onAck(a.add(id))
			}
		}()
	}
	wg.Wait()
}

// verify checks that every id is recorded.
func verify(t *testing.T, c *client.Client, ids []string) {
	t.Helper()
	var g errgroup.Group
	g.SetLimit(8)
	var missing atomic.Int64
	for _, id := range ids {
		g.Go(func() error {
			if _, err := c.GetCharge(t.Context(), &convstatev1.GetChargeRequest{BusinessId: durBiz, MessageId: id}); err != nil {
				if missing.Add(1) <= 5 {
					t.Errorf("acknowledged fact %s: %v", id, err)
				}
			}
			return nil
		})
	}
	g.Wait()
	if n := missing.Load(); n > 0 {
		t.Fatalf("%d of %d acknowledged facts are missing", n, len(ids))
	}
}

func dial(t *testing.T, addr string) *client.Client {
	t.Helper()
	c, err := client.New(addr, client.WithTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestBackupUnderLoadRestores: a snapshot taken while writers run holds every fact
// acknowledged before it started, and a server started on it answers.
func TestBackupUnderLoadRestores(t *testing.T) {
	dir := t.TempDir()
	s := startServe(t, noEnv, "--listen", "127.0.0.1:0", "--db", filepath.Join(dir, "live.db"), "--metrics-listen", "off")
	c := dial(t, s.grpc)
	ctx, stop := context.WithCancel(t.Context())
	var a acked
	enough := make(chan struct{})
	var once sync.Once
	done := make(chan struct{})
	go func() {
		write(ctx, c, "b", &a, func(n int) {
			if n >= 500 {
				once.Do(func() { close(enough) })
			}
		})
		close(done)
	}()
	<-enough
	before := a.snapshot()
	backup := filepath.Join(dir, "backup.db")
	n, err := backupTo(t.Context(), c, backup)
	stop()
	<-done
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("empty backup")
	}
	r := startServe(t, noEnv, "--listen", "127.0.0.1:0", "--db", backup, "--metrics-listen", "off")
	verify(t, dial(t, r.grpc), before)
	t.Logf("backup of %d bytes under load held all %d facts acknowledged before it (%d acknowledged in all)", n, len(before), len(a.snapshot()))
}

// buildBinary builds convstate once for the subprocess tests.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "convstate")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// startProcess runs `convstate serve` as a subprocess and returns it with the
// address it logged.
func startProcess(t *testing.T, bin, db string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--listen", "127.0.0.1:0", "--db", db, "--metrics-listen", "off")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		if m := servingRE.FindStringSubmatch(sc.Text()); m != nil {
			go func() {
				for sc.Scan() {
				}
			}()
			return cmd, m[1]
		}
	}
	t.Fatalf("serve exited before serving: %v", sc.Err())
	return nil, ""
}

// TestKill9KeepsAcknowledgedFacts: the real binary, concurrent writers, kill -9
// at a random moment (after a random number of acknowledgements), restart on the
// same file: every acknowledged fact is there, the file passes bbolt's consistency
// check, and the service answers as before. Repeated several times.
func TestKill9KeepsAcknowledgedFacts(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the real binary")
	}
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 9))
	t.Logf("seed %d", seed)
	bin := buildBinary(t)
	db := filepath.Join(t.TempDir(), "crash.db")
	var a acked
	var probe *convstatev1.DecideResponse
	replayed := 0
	for round := range 4 {
		cmd, addr := startProcess(t, bin, db)
		c := dial(t, addr)
		verify(t, c, a.snapshot())
		if round == 0 {
			if _, err := c.UserMessage(t.Context(), durBiz, durUser, "probe", time.Now().Add(-time.Hour)); err != nil {
				t.Fatal(err)
			}
		}
		d, err := c.Decide(t.Context(), &convstatev1.DecideRequest{BusinessId: durBiz, UserId: durUser})
		if err != nil {
			t.Fatal(err)
		}
		if probe != nil && !d.GetWindowExpiresAt().AsTime().Equal(probe.GetWindowExpiresAt().AsTime()) {
			t.Errorf("round %d: after restart the window expires %v, before it was %v", round, d.GetWindowExpiresAt().AsTime(), probe.GetWindowExpiresAt().AsTime())
		}
		probe = d

		killAt := len(a.snapshot()) + 100 + rng.IntN(2000)
		var once sync.Once
		write(t.Context(), c, fmt.Sprintf("r%d", round), &a, func(n int) {
			if n >= killAt {
				once.Do(func() { cmd.Process.Signal(os.Kill) })
			}
		})
		cmd.Wait()
		st, err := store.Open(db, store.Options{})
		if err != nil {
			t.Fatalf("round %d: reopening after kill -9: %v", round, err)
		}
		if err := st.Check(); err != nil {
			t.Fatalf("round %d: consistency check after kill -9: %v", round, err)
		}
		replayed += st.Stats().Replayed
		st.Close()
		t.Logf("round %d: killed after %d acknowledged facts; %d log batches replayed", round, killAt, st.Stats().Replayed)
	}
	// Writes go on until the kill, so the log always holds batches the file does not.
	if replayed == 0 {
		t.Error("no restart replayed the write-ahead log: the test did not exercise recovery")
	}
	_, addr := startProcess(t, bin, db)
	verify(t, dial(t, addr), a.snapshot())
}
