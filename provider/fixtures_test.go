package provider

import (
	"os"
	"path/filepath"
	"sort"
	"testing"
)

// Fixtures live in testdata/<dir>/<name>: errors (answers of the Graph API), send
// (request bodies from Meta's examples) and webhooks (notification bodies).

func readFixture(tb testing.TB, dir, name string) []byte {
	tb.Helper()
	b, err := readFixtureBytes(dir, name)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func readFixtureBytes(dir, name string) ([]byte, error) {
	return os.ReadFile(filepath.Join("testdata", dir, name))
}

// fixtureNames lists the files of testdata/<dir>, sorted.
func fixtureNames(dir string) ([]string, error) {
	entries, err := os.ReadDir(filepath.Join("testdata", dir))
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names, nil
}
