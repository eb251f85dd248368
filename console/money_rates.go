package console

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
)

// rateSummary is the rate card in force as the money page shows it: per market and
// category the price of the next message, given this month's volume, and the bands.
type rateSummary struct {
	None    bool
	Month   string
	Rows    []rateRow
	Session []sessionPrice
}

type rateRow struct {
	Market, Category string
	Used             int64
	PriceNow         string
	Bands            []string
}

type sessionPrice struct{ Kind, Price string }

type displayMoney struct {
	Display string `json:"display"`
}

type ratesAnswer struct {
	Prices []struct {
		Market   string `json:"market"`
		Category string `json:"category"`
		Bands    []struct {
			From  int64        `json:"from"`
			UpTo  *int64       `json:"up_to"`
			Price displayMoney `json:"price"`
		} `json:"bands"`
	} `json:"prices"`
	Session map[string]displayMoney `json:"session"`
	Volume  map[string]struct {
		Month    string `json:"month"`
		Captured int64  `json:"captured"`
		Held     int64  `json:"held"`
	} `json:"volume"`
}

func (v *visit) rateSummary() (rateSummary, error) {
	var a ratesAnswer
	err := v.call(http.MethodGet, "/v1/rates", nil, nil, &a)
	if statusOf(err) == http.StatusNotFound {
		return rateSummary{None: true}, nil
	}
	if err != nil {
		return rateSummary{}, err
	}
	out := rateSummary{}
	for _, p := range a.Prices {
		vol := a.Volume[p.Category]
		if vol.Month != "" {
			out.Month = vol.Month
		}
		row := rateRow{Market: p.Market, Category: p.Category, Used: vol.Captured + vol.Held}
		next := row.Used + 1
		for _, b := range p.Bands {
			if b.From <= next && (b.UpTo == nil || next <= *b.UpTo) {
				row.PriceNow = b.Price.Display
			}
			if b.UpTo == nil {
				row.Bands = append(row.Bands, fmt.Sprintf("%d+: %s", b.From, b.Price.Display))
			} else {
				row.Bands = append(row.Bands, fmt.Sprintf("%d–%d: %s", b.From, *b.UpTo, b.Price.Display))
			}
		}
		out.Rows = append(out.Rows, row)
	}
	for k, m := range a.Session {
		out.Session = append(out.Session, sessionPrice{Kind: k, Price: m.Display})
	}
	sortBy(out.Session, func(s sessionPrice) string { return s.Kind })
	out.None = len(out.Rows) == 0 && len(out.Session) == 0
	return out, nil
}

// sortBy sorts s by the key of each element.
func sortBy[T any](s []T, key func(T) string) {
	slices.SortFunc(s, func(a, b T) int { return cmp.Compare(key(a), key(b)) })
}
