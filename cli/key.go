package cli

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"

	"kirim/api"
)

const keySynopsis = "kirim key new | kirim key hash KEY"

// cmdKey makes API keys and hashes them for the configuration's key_sha256.
func cmdKey(args []string, stdout io.Writer) error {
	word, rest, err := subcommand("key", keySynopsis, args, "new", "hash")
	if err != nil {
		return err
	}
	switch word {
	case "new":
		fs := newFlags("key new", "kirim key new", "Prints a new random API key and its key_sha256, for [[accounts.keys]] or [[operators]].")
		if err := parseFlags(fs, rest); err != nil {
			return err
		}
		if fs.NArg() != 0 {
			return usagef(fs, "key new: takes no arguments")
		}
		b := make([]byte, 24)
		if _, err := rand.Read(b); err != nil {
			return fmt.Errorf("key new: %w", err)
		}
		k := "kirim_" + hex.EncodeToString(b)
		fmt.Fprintf(stdout, "key        %s\nkey_sha256 %s\n", k, keyHash(k))
		return nil
	default: // hash
		fs := newFlags("key hash", "kirim key hash KEY", "Prints the key_sha256 of KEY, so the configuration need not hold the key itself.")
		if err := parseFlags(fs, rest); err != nil {
			return err
		}
		if fs.NArg() != 1 {
			return usagef(fs, "key hash: want the key")
		}
		fmt.Fprintln(stdout, keyHash(fs.Arg(0)))
		return nil
	}
}

func keyHash(k string) string {
	h := api.HashKey(k)
	return hex.EncodeToString(h[:])
}
