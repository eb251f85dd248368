package sandbox

import (
	"flag"
	"fmt"
	"strconv"
	"time"

	"kirim/clock"
)

// flagValues holds the flags that do not map onto one Options field.
type flagValues struct {
	phoneNumberID string
	wabaID        string
	display       string
	limit         intFlag
}

type intFlag struct {
	set bool
	v   int
}

func (f *intFlag) String() string { return strconv.Itoa(f.v) }
func (f *intFlag) Set(s string) error {
	v, err := strconv.Atoi(s)
	if err != nil || v < -1 {
		return fmt.Errorf("want a whole number, -1 for unlimited")
	}
	f.set, f.v = true, v
	return nil
}

// clockFlag selects the real clock or a manual one driven by POST /_sandbox/clock/advance.
type clockFlag struct{ o *Options }

func (c clockFlag) String() string {
	if c.o == nil {
		return "real"
	}
	if _, ok := c.o.Clock.(*clock.Fake); ok {
		return "manual"
	}
	return "real"
}

func (c clockFlag) Set(s string) error {
	switch s {
	case "real":
		c.o.Clock = clock.Real{}
	case "manual":
		c.o.Clock = clock.NewFake(time.Now().UTC().Truncate(time.Second))
	default:
		return fmt.Errorf("want real or manual")
	}
	return nil
}

// RegisterFlags adds the sandbox's flags to fs, bound to o; New applies them. The
// listen address is the caller's.
func (o *Options) RegisterFlags(fs *flag.FlagSet) {
	if o.flags == nil {
		o.flags = &flagValues{}
	}
	f := o.flags
	fs.StringVar(&o.WebhookURL, "webhook-url", o.WebhookURL, "where webhooks are posted (empty: keep them for GET /_sandbox/webhooks)")
	fs.StringVar(&o.AppSecret, "app-secret", o.AppSecret, "app secret that signs webhooks (X-Hub-Signature-256)")
	fs.StringVar(&o.Token, "token", o.Token, "bearer token required on Graph API calls (empty: none)")
	fs.StringVar(&o.DataDir, "data", o.DataDir, "directory that keeps templates, media and id counters across restarts (empty: memory only)")
	fs.StringVar(&f.phoneNumberID, "phone-number-id", DefaultPhoneNumberID, "phone number id of the simulated number")
	fs.StringVar(&f.wabaID, "waba-id", DefaultWABAID, "WhatsApp Business Account id")
	fs.StringVar(&f.display, "display-phone-number", DefaultDisplayPhoneNumber, "display phone number")
	fs.IntVar(&o.ThroughputMPS, "throughput", DefaultThroughputMPS, "accepted sends per second per number")
	fs.StringVar(&o.Rules, "rules", Rules2025, "messaging-limit rules: 2025 (per portfolio) or legacy (per number)")
	fs.Var(&f.limit, "messaging-limit", "unique business-initiated recipients per 24 h, per portfolio (2025) or number (legacy); -1 unlimited (default 250 or 1000)")
	fs.DurationVar(&o.PairGap, "pair-gap", DefaultPairGap, "pair rate: one message per this gap to one recipient, after the burst; negative disables")
	fs.IntVar(&o.PairBurst, "pair-burst", DefaultPairBurst, "pair rate: messages to one recipient at once before 131056")
	fs.IntVar(&o.MarketingUserLimit, "marketing-user-limit", 0, "marketing templates one recipient may get per --marketing-window before 131049 (0: off)")
	fs.DurationVar(&o.MarketingWindow, "marketing-window", DefaultMarketingWindow, "window of --marketing-user-limit")
	fs.Float64Var(&o.ReadRate, "read-rate", DefaultReadRate, "fraction of delivered messages that are read; negative for none")
	fs.Float64Var(&o.PacingRate, "pacing-rate", 0, "fraction of marketing template sends held for quality assessment")
	fs.DurationVar(&o.ReviewDelay, "review-delay", 0, "time template review takes")
	fs.Float64Var(&o.PromoRejectRate, "promo-reject-rate", DefaultPromoRejectRate, "fraction of UTILITY templates with promotional wording rejected at review; negative for none")
	fs.Var(delayFlag{&o.SentDelay, &o.SentJitter}, "sent-delay", "time from an accepted send to its sent status: 2s, or a range such as 1s..5s")
	fs.Var(delayFlag{&o.DeliveredDelay, &o.DeliveredJitter}, "delivered-delay", "time from sent to delivered (or failed): a duration or MIN..MAX")
	fs.Var(delayFlag{&o.ReadDelay, &o.ReadJitter}, "read-delay", "time from delivered to read: a duration or MIN..MAX")
	fs.Var(codeRatesFlag{&o.Chaos.AsyncFailures}, "fail", "failure mix: accepted sends that get sent then failed with each code, as CODE=FRACTION[,CODE=FRACTION], such as 131026=0.03,131000=0.01")
	fs.Var(codeRatesFlag{&o.Chaos.SendErrors}, "send-errors", "sends refused at once with each code, as CODE=FRACTION[,...], such as 131000=0.01,130429=0.02")
	fs.IntVar(&o.WebhookBatch, "webhook-batch", DefaultWebhookBatch, "most statuses of one number per webhook POST; 1 posts each status alone, as Meta does")
	fs.IntVar(&o.WebhookConcurrency, "webhook-concurrency", DefaultWebhookConcurrency, "webhook POSTs in flight at once (one message's statuses stay in order)")
	fs.Int64Var(&o.Seed, "seed", 0, "seed of the random draws")
	fs.Var(clockFlag{o}, "clock", "real, or manual (advanced only by POST /_sandbox/clock/advance)")
}

// applyFlags folds the flag-only values into the options.
func (o *Options) applyFlags() {
	f := o.flags
	if f == nil {
		return
	}
	o.flags = nil
	if len(o.Numbers) == 0 {
		o.Numbers = []Number{{}}
	}
	n := &o.Numbers[0]
	n.PhoneNumberID = cmpOr(n.PhoneNumberID, f.phoneNumberID)
	n.WABAID = cmpOr(n.WABAID, f.wabaID)
	n.DisplayPhoneNumber = cmpOr(n.DisplayPhoneNumber, f.display)
	if f.limit.set {
		if o.Rules == RulesLegacy {
			for i := range o.Numbers {
				o.Numbers[i].MessagingLimit = f.limit.v
			}
		} else {
			o.PortfolioLimit = f.limit.v
		}
	}
}
