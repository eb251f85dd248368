package storage

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// crashChildEnv names the data directory of a crash-test child process.
const crashChildEnv = "KIRIM_STORAGE_CRASH_CHILD_DIR"

const (
	crashWorkers = 32
	crashAcks    = 3000 // acknowledgements to read before killing the child
)

// TestCrashKeepsAcknowledgedCommits runs a child process that commits keys concurrently
// and prints each key once Commit has returned, kills it with SIGKILL mid-stream, and
// checks that every key it printed survived.
func TestCrashKeepsAcknowledgedCommits(t *testing.T) {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		crashChild(dir)
		return
	}
	if testing.Short() {
		t.Skip("crash test re-executes the test binary")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashKeepsAcknowledgedCommits$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	kill := func() {
		if !killed {
			killed = true
			_ = cmd.Process.Signal(syscall.SIGKILL)
		}
	}
	defer kill()

	var acked []string
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "ack ") {
			continue // test framework output
		}
		acked = append(acked, strings.TrimPrefix(line, "ack "))
		if len(acked) == crashAcks {
			kill()
		}
	}
	// Lines read after the kill were written before it: they count too.
	waitErr := cmd.Wait()
	if !killed {
		t.Fatalf("child exited before %d acknowledgements (got %d): %v", crashAcks, len(acked), waitErr)
	}
	if len(acked) < crashAcks {
		t.Fatalf("only %d acknowledgements", len(acked))
	}

	d := mustOpen(t, Options{Dir: dir})
	missing := 0
	err = d.View(func(r Reader) error {
		for _, k := range acked {
			v, err := r.Get([]byte(k))
			if err != nil || string(v) != k {
				missing++
				if missing <= 5 {
					t.Errorf("acknowledged key %s: value %q, err %v", k, v, err)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if missing > 0 {
		t.Fatalf("%d of %d acknowledged keys lost after SIGKILL", missing, len(acked))
	}
	t.Logf("%d acknowledged keys survived SIGKILL", len(acked))
}

// crashChild commits until killed. Each key is printed only after Commit returned nil.
func crashChild(dir string) {
	d, err := Open(Options{Dir: dir, Logger: quietLogger()})
	if err != nil {
		fmt.Fprintln(os.Stderr, "crash child:", err)
		os.Exit(2)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := range crashWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				key := fmt.Sprintf("crash/%02d/%08d", w, i)
				err := d.Commit(context.Background(), func(tx Txn) error {
					return tx.Set([]byte(key), []byte(key))
				})
				if err != nil {
					fmt.Fprintln(os.Stderr, "crash child:", err)
					os.Exit(2)
				}
				mu.Lock()
				// One write per line: a line on the pipe is whole or absent.
				_, _ = os.Stdout.WriteString("ack " + key + "\n")
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
}
