package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"

	"golang.org/x/term"
)

const userSynopsis = "kirim user add LOGIN --role ROLE [--account ID] | kirim user list [--account ID]"

// cmdUser manages the console's users through the running server's API.
func cmdUser(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	word, rest, err := subcommand("user", userSynopsis, args, "add", "list")
	if err != nil {
		return err
	}
	switch word {
	case "add":
		fs := newFlags("user add", "kirim user add LOGIN --role ROLE [--account ID] [--lang en|id] [--server URL] [--key KEY]",
			"Makes a console user. The password is asked for (or read from the first line of stdin when it is not a terminal) "+
				"and stored only as an argon2id hash. Roles: operator (no account), admin, marketer, finance, agent (with --account).")
		role := fs.String("role", "", "operator, admin, marketer, finance or agent")
		account := fs.String("account", "", "the user's account (every role but operator)")
		lang := fs.String("lang", "en", "the console's language for the user: en or id")
		server, key := serverFlags(fs)
		if err := parseFlags(fs, rest); err != nil {
			return err
		}
		if fs.NArg() != 1 || *role == "" {
			return usagef(fs, "user add: want LOGIN and --role")
		}
		if (*role == "operator") != (*account == "") {
			return usagef(fs, "user add: an operator has no --account; every other role needs one")
		}
		pw, err := readPassword(stdin, stderr)
		if err != nil {
			return fmt.Errorf("user add: %w", err)
		}
		q := ""
		if *account != "" {
			q = "?account=" + url.QueryEscape(*account)
		}
		body := fmt.Sprintf(`{"login":%q,"role":%q,"lang":%q,"password":%q}`, fs.Arg(0), *role, *lang, pw)
		var u struct{ ID, Login, Role, Account string }
		if err := callServer(ctx, http.DefaultClient, http.MethodPost, *server+"/v1/users"+q, *key, "application/json",
			strings.NewReader(body), http.StatusCreated, &u); err != nil {
			return fmt.Errorf("user add: %w", err)
		}
		fmt.Fprintf(stdout, "user %s (%s) made: %s\n", u.Login, u.Role, u.ID)
		return nil
	default: // list
		fs := newFlags("user list", "kirim user list [--account ID] [--server URL] [--key KEY]", "Lists the console's users (every user without --account).")
		account := fs.String("account", "", "only this account's users")
		server, key := serverFlags(fs)
		if err := parseFlags(fs, rest); err != nil {
			return err
		}
		if fs.NArg() != 0 {
			return usagef(fs, "user list: takes no arguments")
		}
		q := ""
		if *account != "" {
			q = "?account=" + url.QueryEscape(*account)
		}
		var page struct {
			Data []struct{ ID, Login, Role, Account, Lang string } `json:"data"`
		}
		if err := callServer(ctx, http.DefaultClient, http.MethodGet, *server+"/v1/users"+q, *key, "", nil, http.StatusOK, &page); err != nil {
			return fmt.Errorf("user list: %w", err)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "LOGIN\tROLE\tACCOUNT\tLANG\tID")
		for _, u := range page.Data {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", u.Login, u.Role, u.Account, u.Lang, u.ID)
		}
		return tw.Flush()
	}
}

// serverFlags adds --server and --key: the running Kirim and an operator's (or an
// account admin's) API key.
func serverFlags(fs *flagSet) (server, key *string) {
	server = fs.String("server", "http://127.0.0.1:8080", "the running Kirim's API address")
	key = fs.String("key", os.Getenv("KIRIM_API_KEY"), "an operator's or account admin's API key (default $KIRIM_API_KEY)")
	return server, key
}

// readPassword asks for the password twice on a terminal, or reads the first line of
// stdin otherwise (for scripts).
func readPassword(stdin io.Reader, prompt io.Writer) (string, error) {
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(prompt, "Password: ")
		a, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(prompt)
		if err != nil {
			return "", err
		}
		fmt.Fprint(prompt, "Again: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(prompt)
		if err != nil {
			return "", err
		}
		if string(a) != string(b) {
			return "", errors.New("the passwords differ")
		}
		return string(a), nil
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		return "", errors.New("no password on stdin")
	}
	return strings.TrimRight(line, "\r\n"), nil
}
