package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBench runs a short bench in-process and checks the contract of its last line:
// one JSON object with every figure the issue names, the rates positive. Timings and
// ratios are reported, not asserted.
func TestBench(t *testing.T) {
	if testing.Short() {
		t.Skip("runs five workloads against two servers")
	}
	prof := filepath.Join(t.TempDir(), "cpu.pprof")
	var stdout, stderr bytes.Buffer
	err := run(t.Context(), []string{"bench", "--duration", "200ms", "--pairs", "2000", "--concurrency", "8", "--cpuprofile", prof},
		func(string) string { return "" }, strings.NewReader(""), &stdout, &stderr)
	if err != nil {
		t.Fatalf("bench: %v\nstderr:\n%s", err, stderr.String())
	}
	lines := strings.Split(strings.TrimRight(stdout.String(), "\n"), "\n")
	last := lines[len(lines)-1]
	var got map[string]any
	if err := json.Unmarshal([]byte(last), &got); err != nil {
		t.Fatalf("last stdout line is not JSON: %v\n%s", err, last)
	}
	for _, k := range []string{
		"empty_rps", "decide_rps", "decide_vs_empty", "record_rps", "record_vs_empty", "record_vs_fsync_each",
		"batch_facts_per_s", "decide_p99_ms", "empty_p99_ms", "rss_mb", "db_bytes_per_pair",
		"fsync_each_rps", "record_updates_per_commit", "go_version", "cpus",
	} {
		v, ok := got[k]
		if !ok {
			t.Errorf("JSON has no %q", k)
			continue
		}
		if f, isNum := v.(float64); isNum && f <= 0 {
			t.Errorf("%s = %v, want > 0", k, f)
		}
	}
	for _, k := range []string{"empty_errors", "decide_errors", "record_errors", "batch_errors", "fsync_each_errors"} {
		if got[k] != 0.0 {
			t.Errorf("%s = %v, want 0\nstderr:\n%s", k, got[k], stderr.String())
		}
	}
	if !strings.Contains(stdout.String(), "decide_vs_empty") || len(lines) < 8 {
		t.Errorf("no table before the JSON line:\n%s", stdout.String())
	}
	if !strings.Contains(stderr.String(), "/s (now ") {
		t.Errorf("no progress line gives the last interval's rate:\n%s", stderr.String())
	}
	for _, w := range allWorkloads {
		if !strings.Contains(stderr.String(), "  "+w) {
			t.Errorf("no progress line for %s in stderr:\n%s", w, stderr.String())
		}
		if fi, err := os.Stat(filepath.Join(filepath.Dir(prof), "cpu."+w+".pprof")); err != nil || fi.Size() == 0 {
			t.Errorf("no CPU profile of %s: %v", w, err)
		}
	}
}

func TestBenchJSONOnlyAndSubset(t *testing.T) {
	var stdout, stderr bytes.Buffer
	err := run(t.Context(), []string{"bench", "--duration", "100ms", "--concurrency", "2", "--workloads", "empty", "--json-only"},
		func(string) string { return "" }, strings.NewReader(""), &stdout, &stderr)
	if err != nil {
		t.Fatalf("bench: %v\nstderr:\n%s", err, stderr.String())
	}
	out := strings.TrimRight(stdout.String(), "\n")
	if strings.Contains(out, "\n") {
		t.Fatalf("--json-only printed more than one line:\n%s", out)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if _, ok := got["empty_rps"]; !ok {
		t.Errorf("no empty_rps in %s", out)
	}
	if _, ok := got["decide_vs_empty"]; ok {
		t.Errorf("a ratio of a workload that did not run: %s", out)
	}
	if _, ok := got["db_bytes_per_pair"]; ok {
		t.Errorf("db_bytes_per_pair without pre-population: %s", out)
	}
}

// TestBenchTrace: --trace writes an execution trace of each workload next to its CPU profile,
// and a trace that cannot be written fails the run without leaving the CPU profile running.
func TestBenchTrace(t *testing.T) {
	dir := t.TempDir()
	bench := func(trace string) error {
		var stdout, stderr bytes.Buffer
		return run(t.Context(), []string{"bench", "--duration", "100ms", "--concurrency", "2", "--workloads", "empty", "--json-only",
			"--cpuprofile", filepath.Join(dir, "cpu.pprof"), "--trace", trace},
			func(string) string { return "" }, strings.NewReader(""), &stdout, &stderr)
	}
	if err := bench(filepath.Join(dir, "missing", "x.trace")); err == nil || !strings.Contains(err.Error(), "--trace") {
		t.Fatalf("bench with a trace in a missing directory: %v, want a --trace error", err)
	}
	if err := bench(filepath.Join(dir, "x.trace")); err != nil {
		t.Fatalf("bench after a failed trace: %v (is the CPU profile still running?)", err)
	}
	for _, name := range []string{"x.empty.trace", "cpu.empty.pprof"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || len(b) == 0 {
			t.Errorf("%s: %d bytes, %v", name, len(b), err)
		}
		if strings.HasSuffix(name, ".trace") && !bytes.HasPrefix(b, []byte("go 1.")) {
			t.Errorf("%s does not begin as an execution trace: %q", name, b[:min(len(b), 16)])
		}
	}
}

func TestBenchBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--duration", "0s"},
		{"--concurrency", "0"},
		{"--pairs", "-1"},
		{"--pairs", "60000000"},
		{"--workloads", "empty,nope"},
		{"extra"},
	} {
		var stdout, stderr bytes.Buffer
		err := run(t.Context(), append([]string{"bench"}, args...), func(string) string { return "" }, strings.NewReader(""), &stdout, &stderr)
		if err == nil {
			t.Errorf("bench %v: no error", args)
		}
		if stdout.Len() != 0 {
			t.Errorf("bench %v printed to stdout: %s", args, stdout.String())
		}
	}
}
