package cli

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/user"
	"path/filepath"

	"kirim/audit"
	"kirim/clock"
	"kirim/storage"
)

// cmdBackup streams an online backup from the running server (Badger locks its
// directory, so the backup is taken by the process that holds it).
func cmdBackup(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlags("backup", "kirim backup FILE [--server URL] [--key KEY]",
		"Streams an online backup of the running server's data directory into FILE (written to FILE.partial, synced, then renamed).")
	server := fs.String("server", "http://127.0.0.1:8080", "the running Kirim's API address")
	key := fs.String("key", os.Getenv("KIRIM_API_KEY"), "an operator API key (default $KIRIM_API_KEY): a backup holds every account")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef(fs, "backup: want the output FILE")
	}
	out := fs.Arg(0)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *server+"/v1/admin/backup", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+*key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
		return fmt.Errorf("backup: %w", serverError(resp, b))
	}
	tmp := out + ".partial"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	n, err := io.Copy(f, resp.Body)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("backup: %w", err)
	}
	if err := os.Rename(tmp, out); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backup: wrote %d bytes to %s\n", n, out)
	return nil
}

func cmdRestore(args []string, stdout io.Writer) error {
	fs := newFlags("restore", "kirim restore FILE --data DIR", "Restores a backup taken by `kirim backup` into an empty (or absent) data directory.")
	dir := fs.String("data", "", "an empty (or absent) data directory to restore into")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 || *dir == "" {
		return usagef(fs, "restore: want FILE and --data DIR")
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return err
	}
	defer f.Close()
	if err := storage.Restore(*dir, f); err != nil {
		return err
	}
	if err := auditRestore(*dir, fs.Arg(0)); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "restore: %s restored into %s\n", fs.Arg(0), *dir)
	return nil
}

// auditRestore appends the restore to the restored audit log: the server that opens
// the directory next shows where its data came from, and who put it there.
func auditRestore(dir, file string) error {
	db, err := storage.Open(storage.Options{Dir: dir, GCInterval: -1})
	if err != nil {
		return fmt.Errorf("restore: audit: %w", err)
	}
	who := "kirim restore"
	if u, err := user.Current(); err == nil {
		who += " (" + u.Username + ")"
	}
	_, err = audit.New(db, clock.Real{}).Append(context.Background(), audit.Record{Key: who, Operator: true,
		Action: "backup.restore", Target: filepath.Base(file), Result: "ok"})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("restore: audit: %w", err)
	}
	return nil
}

// reorder moves flags before positional arguments, so `backup FILE --key K` works.
func reorder(args []string) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if len(a) > 1 && a[0] == '-' {
			flags = append(flags, a)
			if !containsEq(a) && i+1 < len(args) {
				flags = append(flags, args[i+1])
				i++
			}
			continue
		}
		pos = append(pos, a)
	}
	return append(flags, pos...)
}

func containsEq(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '=' {
			return true
		}
	}
	return false
}
