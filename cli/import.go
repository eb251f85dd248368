package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"kirim/api"
	"kirim/campaign/lists"
	"kirim/config"
)

const (
	// importPollEvery is how often `kirim import` asks for progress.
	importPollEvery = 500 * time.Millisecond
	// importShowErrors is how many row errors `kirim import` prints at the end.
	importShowErrors = 20
	// importPlainEvery spaces progress lines when stderr is not a terminal.
	importPlainEvery = 5 * time.Second
)

// cmdImport uploads a CSV or XLSX file to the running server as a list, then follows
// the import to its end with a progress line on stderr.
func cmdImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("import", "kirim import FILE --list NAME [--config FILE] [--server URL] [--key KEY]",
		"Uploads a CSV or XLSX contact list to the running server and follows the import to its end.")
	list := fs.String("list", "", "the list's name; an existing list of that name is appended to")
	cfgPath := fs.String("config", "", "configuration file; gives the server address and, failing --key, a key")
	server := fs.String("server", "", "the running Kirim's API address (default from --config, else http://127.0.0.1:8080)")
	key := fs.String("key", os.Getenv("KIRIM_API_KEY"), "an API key with the campaigns and send scopes (default $KIRIM_API_KEY)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 || *list == "" {
		return usagef(fs, "import: want FILE and --list NAME")
	}
	base, apiKey, err := serverTarget(*cfgPath, *server, *key, "import", configCampaignsKey)
	if err != nil {
		return err
	}
	path := fs.Arg(0)
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil {
		fmt.Fprintf(stderr, "import: uploading %s (%s)\n", filepath.Base(path), sizeString(fi.Size()))
	}
	up, err := uploadList(ctx, base, apiKey, *list, filepath.Base(path), f)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	im, err := followImport(ctx, base, apiKey, up.ImportID, stderr)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	for i, e := range im.Errors {
		if i == importShowErrors {
			fmt.Fprintf(stdout, "... and %d more row errors (GET /v1/imports/%s)\n", im.ErrorsTotal-importShowErrors, im.ID)
			break
		}
		fmt.Fprintf(stdout, "row %d, %s: %s\n", e.Row, e.Column, e.Message)
	}
	fmt.Fprintf(stdout, "import: %s: %d imported, %d duplicates, %d errors of %d rows into list %s (%q)\n",
		im.Status, im.Imported, im.Duplicates, im.ErrorsTotal, im.RowsDone, im.ListID, im.ListName)
	if im.Status == lists.StatusFailed {
		return fmt.Errorf("import: failed: %s", im.Error)
	}
	return nil
}

// configCampaignsKey returns the first key written in clear in the configuration (the
// example's demo key) that may both import a list (scope campaigns) and follow the
// import (scope send).
func configCampaignsKey(cfg *config.Config) string {
	for _, a := range cfg.Accounts {
		for _, k := range a.Keys {
			admin := slices.Contains(k.Scopes, api.ScopeAdmin)
			both := slices.Contains(k.Scopes, api.ScopeCampaigns) && slices.Contains(k.Scopes, api.ScopeSend)
			if k.Key != "" && (admin || both) {
				return k.Key
			}
		}
	}
	return ""
}

type uploadAnswer struct {
	ImportID string `json:"import_id"`
	ListID   string `json:"list_id"`
}

// uploadList streams the file to POST /v1/lists as multipart/form-data: the name field
// first (the server needs it before the file), then the file, read from disk as the
// request is sent.
func uploadList(ctx context.Context, base, key, list, filename string, file io.Reader) (*uploadAnswer, error) {
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		err := mw.WriteField("name", list)
		if err == nil {
			var part io.Writer
			if part, err = mw.CreateFormFile("file", filename); err == nil {
				if _, err = io.Copy(part, file); err == nil {
					err = mw.Close()
				}
			}
		}
		pw.CloseWithError(err)
	}()
	var out uploadAnswer
	if err := callServer(ctx, http.DefaultClient, http.MethodPost, base+"/v1/lists", key, mw.FormDataContentType(), pr, http.StatusAccepted, &out); err != nil {
		return nil, err
	}
	if out.ImportID == "" {
		return nil, errors.New("unexpected answer: no import_id")
	}
	return &out, nil
}

type importStatus struct {
	ID          string           `json:"id"`
	ListID      string           `json:"list_id"`
	ListName    string           `json:"list_name"`
	Status      string           `json:"status"`
	RowsTotal   *int64           `json:"rows_total"`
	RowsDone    int64            `json:"rows_done"`
	Imported    int64            `json:"imported"`
	Duplicates  int64            `json:"duplicates"`
	Errors      []lists.RowError `json:"errors"`
	ErrorsTotal int64            `json:"errors_total"`
	Progress    float64          `json:"progress"`
	Error       string           `json:"error"`
}

// followImport polls the import until it ends, drawing progress on stderr: one line
// rewritten in place on a terminal, a line now and then otherwise.
func followImport(ctx context.Context, base, key, id string, stderr io.Writer) (*importStatus, error) {
	out := newStatusLine(stderr)
	tick := time.NewTicker(importPollEvery)
	defer tick.Stop()
	var lastPlain time.Time
	for {
		var im importStatus
		if err := callServer(ctx, http.DefaultClient, http.MethodGet, base+"/v1/imports/"+url.PathEscape(id), key, "", nil, http.StatusOK, &im); err != nil {
			out.keep()
			return nil, err
		}
		done := im.Status != lists.StatusRunning
		if out.tty || done || time.Since(lastPlain) >= importPlainEvery {
			line := importProgressLine(&im)
			out.show(func(width int) string { return clip(line, width) })
			lastPlain = time.Now()
		}
		if done {
			out.keep()
			return &im, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-tick.C:
		}
	}
}

// importBarWidth is the width of the bar in characters.
const importBarWidth = 24

func importProgressLine(im *importStatus) string {
	filled := int(im.Progress * importBarWidth)
	filled = max(0, min(filled, importBarWidth))
	bar := strings.Repeat("#", filled) + strings.Repeat(".", importBarWidth-filled)
	rows := fmt.Sprintf("%d rows", im.RowsDone)
	if im.RowsTotal != nil && *im.RowsTotal > 0 {
		rows = fmt.Sprintf("%d/%d rows", im.RowsDone, *im.RowsTotal)
	}
	return fmt.Sprintf("import [%s] %3.0f%% %s: %d imported, %d duplicates, %d errors",
		bar, im.Progress*100, rows, im.Imported, im.Duplicates, im.ErrorsTotal)
}

func sizeString(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
