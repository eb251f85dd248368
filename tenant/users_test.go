package tenant

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kirim/clock"
)

// TestUsersAndSessions creates users, signs in and out, and reopens the store: only
// argon2id hashes are kept, a session ends on expiry, sign-out, a new password and
// deletion, and both survive a restart.
func TestUsersAndSessions(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	clk := clock.NewFake(time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC))
	db, s := openStore(t, dir, clk)
	u, err := s.CreateUser(ctx, NewUser{Login: "rina", Account: "acme", Role: RoleMarketer, Password: "correct horse 1", CreatedBy: "ops"})
	if err != nil {
		t.Fatal(err)
	}
	if u.Lang != "en" || !strings.HasPrefix(u.Hash, "$argon2id$v=19$m=19456,t=2,p=1$") || strings.Contains(u.Hash, "horse") {
		t.Fatalf("user %+v", u)
	}
	if _, err := s.CreateUser(ctx, NewUser{Login: "rina", Account: "beta", Role: RoleAdmin, Password: "another pass 2"}); !errors.Is(err, ErrExists) {
		t.Fatalf("same login twice: %v", err)
	}
	for _, bad := range []struct {
		n     NewUser
		field string
	}{
		{NewUser{Login: "X", Account: "acme", Role: RoleAdmin, Password: "0123456789"}, "login"},
		{NewUser{Login: "ok", Account: "acme", Role: "boss", Password: "0123456789"}, "role"},
		{NewUser{Login: "ok", Account: "acme", Role: RoleOperator, Password: "0123456789"}, "account"},
		{NewUser{Login: "ok", Role: RoleAgent, Password: "0123456789"}, "account"},
		{NewUser{Login: "ok", Account: "acme", Role: RoleAgent, Lang: "fr", Password: "0123456789"}, "lang"},
		{NewUser{Login: "ok", Account: "acme", Role: RoleAgent, Password: "short"}, "password"},
	} {
		if field, err := CheckNewUser(bad.n); field != bad.field || err == nil {
			t.Errorf("%+v: field %q err %v, want %q", bad.n, field, err, bad.field)
		}
	}
	if _, _, _, err := s.SignIn(ctx, "rina", "wrong password"); !errors.Is(err, ErrBadLogin) {
		t.Fatalf("wrong password: %v", err)
	}
	if _, _, _, err := s.SignIn(ctx, "nobody", "correct horse 1"); !errors.Is(err, ErrBadLogin) {
		t.Fatalf("unknown user: %v", err)
	}
	got, tok, ss, err := s.SignIn(ctx, " Rina ", "correct horse 1")
	if err != nil || got.ID != u.ID || len(tok) < 40 || ss.CSRF == "" {
		t.Fatalf("sign in: %+v %q %v", got, tok, err)
	}
	if _, who, ok := s.Session(tok); !ok || who.ID != u.ID {
		t.Fatal("session not found")
	}
	if _, _, ok := s.Session(tok + "x"); ok {
		t.Fatal("a forged token is a session")
	}
	_, tok2, _, err := s.SignIn(ctx, "rina", "correct horse 1")
	if err != nil {
		t.Fatal(err)
	}
	// The store keeps the token's hash, never the token.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, s = openStore(t, dir, clk)
	if _, _, ok := s.Session(tok); !ok {
		t.Fatal("session lost on restart")
	}
	if err := s.SignOut(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := s.Session(tok); ok {
		t.Fatal("signed-out session still valid")
	}
	if _, _, ok := s.Session(tok2); !ok {
		t.Fatal("sign-out ended the other session")
	}
	clk.Advance(SessionTTL)
	if _, _, ok := s.Session(tok2); ok {
		t.Fatal("expired session still valid")
	}
	_, tok3, _, _ := s.SignIn(ctx, "rina", "correct horse 1")
	if _, err := s.UpdateUser(ctx, u.ID, "id", "new password 3"); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := s.Session(tok3); ok {
		t.Fatal("a new password left an old session open")
	}
	if _, _, _, err := s.SignIn(ctx, "rina", "correct horse 1"); !errors.Is(err, ErrBadLogin) {
		t.Fatal("old password still signs in")
	}
	_, tok4, _, err := s.SignIn(ctx, "rina", "new password 3")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SignOutEverywhere(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := s.Session(tok4); ok {
		t.Fatal("sign-out everywhere left a session")
	}
	if _, err := s.DeleteUser(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := s.SignIn(ctx, "rina", "new password 3"); !errors.Is(err, ErrBadLogin) {
		t.Fatal("deleted user signs in")
	}
	if len(s.Users("acme")) != 0 {
		t.Fatal("deleted user listed")
	}
	// A deleted login may be taken again.
	if _, err := s.CreateUser(ctx, NewUser{Login: "rina", Account: "beta", Role: RoleAgent, Password: "0123456789"}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	raw := readAll(t, dir)
	if !bytes.Contains(raw, []byte(`"login":"rina"`)) {
		t.Fatal("the files read are not the store's")
	}
	for _, secret := range []string{"correct horse 1", "new password 3", tok, tok2} {
		if bytes.Contains(raw, []byte(secret)) {
			t.Fatalf("storage holds %q", secret)
		}
	}
}

func TestCheckPasswordRefusesMalformedHashes(t *testing.T) {
	good, err := HashPassword("0123456789")
	if err != nil {
		t.Fatal(err)
	}
	if !CheckPassword(good, "0123456789") || CheckPassword(good, "0123456788") {
		t.Fatal("check of a good hash")
	}
	for _, h := range []string{"", "$argon2id$", "$bcrypt$v=19$m=19456,t=2,p=1$AAAA$AAAA",
		"$argon2id$v=19$m=999999999,t=2,p=1$AAAA$AAAA", "$argon2id$v=19$m=19456,t=2,p=0$AAAA$AAAA",
		strings.Replace(good, "$m=", "$m=x", 1)} {
		if CheckPassword(h, "0123456789") {
			t.Errorf("%q accepted", h)
		}
	}
}

// readAll returns every byte of the files under dir: the test looks for secrets in
// whatever the store wrote, value log and memtable included.
func readAll(t *testing.T, dir string) []byte {
	t.Helper()
	var all []byte
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		all = append(all, b...)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return all
}
