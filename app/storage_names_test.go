package app_test

import (
	"log/slog"
	"testing"

	"kirim/config"
	"kirim/storage"
)

// TestConfigCompressionOpensStorage: every compression the config accepts is a name the
// storage package opens, since serve passes it over as it is.
func TestConfigCompressionOpensStorage(t *testing.T) {
	for _, c := range []config.Compression{config.CompressionNone, config.CompressionSnappy, config.CompressionZstd} {
		db, err := storage.Open(storage.Options{InMemory: true, Compression: storage.Compression(c), Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatalf("%q: %v", c, err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
