package api

import (
	"fmt"
	"strings"
)

// Locales money is displayed in. LocaleIndonesian writes "Rp1.000.000" and "Rp510,5";
// every other locale, and none, the default form "IDR 1,000,000".
const (
	LocaleEnglish    = "en-US"
	LocaleIndonesian = "id-ID"
)

// NewMoneyIn is NewMoney with its display written as people of locale write money.
// Only the display changes: amount_micros and currency are the same in every locale.
func NewMoneyIn(micros int64, currency, locale string) Money {
	if locale != LocaleIndonesian {
		return NewMoney(micros, currency)
	}
	return Money{AmountMicros: micros, Currency: currency, Display: displayIndonesian(micros, currency)}
}

// money is NewMoneyIn in the locale of the account the caller acts on.
func (c *caller) money(micros int64, currency string) Money {
	return NewMoneyIn(micros, currency, c.account.Locale)
}

// displayIndonesian writes an amount as Indonesians do: the rupiah sign "Rp" before
// the figure (other currencies keep their code and a space), a dot between thousands
// and a comma before the fraction: Rp1.000.000, Rp510,5, -Rp75.
func displayIndonesian(m int64, currency string) string {
	sign := ""
	u := uint64(m)
	if m < 0 {
		sign, u = "-", uint64(-m) // -MinInt64 wraps to itself, which as uint64 is right
	}
	ws := fmt.Sprint(u / 1_000_000)
	var b strings.Builder
	b.WriteString(sign)
	if currency == "IDR" {
		b.WriteString("Rp")
	} else {
		b.WriteString(currency + " ")
	}
	for i := range len(ws) {
		if i > 0 && (len(ws)-i)%3 == 0 {
			b.WriteByte('.')
		}
		b.WriteByte(ws[i])
	}
	if frac := u % 1_000_000; frac != 0 {
		b.WriteString("," + strings.TrimRight(fmt.Sprintf("%06d", frac), "0"))
	}
	return b.String()
}
