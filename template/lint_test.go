package template

import (
	"strings"
	"testing"

	"kirim/provider"
)

type rc struct{ rule, component string }

func promoEN() Template {
	return Template{
		Name:     "weekend_sale",
		Language: "en",
		Category: CategoryMarketing,
		Header:   &Header{Format: HeaderImage, MediaHandle: "4::aW1n", MediaSize: 300 << 10},
		Body: Body{
			Text:     "Hi {{1}}, our weekend sale is on! Show this message at any Acme store to get {{2}} off your next purchase.",
			Examples: []string{"Budi", "20%"},
		},
		Buttons: []Button{
			{Type: ButtonURL, Text: "Shop now", URL: "https://acme.com/sale"},
			{Type: ButtonQuickReply, Text: "Stop promotions"},
		},
	}
}

func namedEN() Template {
	return Template{
		Name:            "delivery_named",
		Language:        "en_US",
		Category:        CategoryUtility,
		ParameterFormat: FormatNamed,
		Body: Body{
			Text: "Hello {{first_name}}, your parcel {{tracking_id}} is out for delivery and should arrive before noon today.",
			NamedExamples: []NamedExample{
				{Name: "first_name", Example: "Budi"}, {Name: "tracking_id", Example: "JNE123"},
			},
		},
	}
}

func qr(label string) Button { return Button{Type: ButtonQuickReply, Text: label} }
func url(u string) Button    { return Button{Type: ButtonURL, Text: "Buka", URL: u} }
func phoneBtn(p string) Button {
	return Button{Type: ButtonPhoneNumber, Text: "Telepon", PhoneNumber: p}
}
func copyCode(ex string) Button { return Button{Type: ButtonCopyCode, Example: ex} }

func with(base func() Template, f func(*Template)) Template {
	t := base()
	f(&t)
	return t
}

func body(base func() Template, text string, examples ...string) Template {
	return with(base, func(t *Template) { t.Body = Body{Text: text, Examples: examples} })
}

func buttons(base func() Template, bs ...Button) Template {
	return with(base, func(t *Template) { t.Buttons = bs })
}

// longBody is Indonesian text of the given length in characters, with no spacing faults.
func longBody(n int) string {
	const unit = "Pesanan Anda sedang kami proses dengan baik. "
	s := strings.Repeat(unit, n/len(unit)+1)
	return strings.TrimSpace(s[:n-1]) + "."
}

func TestLint(t *testing.T) {
	long513 := strings.Repeat("a", 513)
	tests := []struct {
		name string
		t    Template
		want []rc
	}{
		// Valid templates.
		{"valid utility id", orderUpdate(), nil},
		{"valid marketing en image header", promoEN(), nil},
		{"valid authentication copy code", authTemplate(), nil},
		{"valid authentication one tap", with(authTemplate, func(t *Template) {
			t.Buttons = []Button{{Type: ButtonOTP, OTPType: OTPOneTap, Text: "Autofill", AutofillText: "Autofill",
				SupportedApps: []provider.SupportedApp{{PackageName: "id.acme.app", SignatureHash: "K8a/AINcGX7"}}}}
		}), nil},
		{"valid named utility", namedEN(), nil},
		{"valid five multi-code-point emoji", body(promoEN,
			"Hai {{1}} 👋🏽, keluarga 👨‍👩‍👧‍👦 Acme di 🇮🇩 punya kejutan 🎁 untuk Anda 1️⃣ minggu ini. Kode Anda {{2}} berlaku sampai Minggu.", "Budi", "HEMAT20"), nil},
		{"valid body without variables", body(orderUpdate, "Terima kasih sudah berbelanja di Acme. Pesanan Anda sedang kami siapkan."), nil},
		{"valid static text header", with(orderUpdate, func(t *Template) { t.Header = &Header{Format: HeaderText, Text: "Info pesanan"} }), nil},
		{"valid location header", with(orderUpdate, func(t *Template) { t.Header = &Header{Format: HeaderLocation} }), nil},
		{"valid document header", with(orderUpdate, func(t *Template) {
			t.Header = &Header{Format: HeaderDocument, MediaHandle: "4::ZG9j", MediaSize: 50 << 20}
		}), nil},
		{"valid body of exactly 1024 characters", body(orderUpdate, longBody(MaxBodyLen)), nil},
		{"valid punctuation between variables with words", body(orderUpdate,
			"Halo {{1}}, tagihan {{2}} sebesar {{3}} jatuh tempo pada {{4}} ya, mohon dibayar tepat waktu.", "Budi", "INV-1", "Rp 50.000", "1 Mei"), nil},
		{"buttons: QR QR QR then URL", buttons(promoEN, qr("Ya"), qr("Tidak"), qr("Nanti"), url("https://acme.co.id/info")),
			[]rc{{RuleButtonsCollapsed, "buttons"}}},
		{"buttons: URL PHONE then QR QR", buttons(promoEN, url("https://acme.co.id/a"), phoneBtn("+6281234567890"), qr("Ya"), qr("Tidak")),
			[]rc{{RuleButtonsCollapsed, "buttons"}}},
		{"buttons: COPY_CODE URL QR", buttons(promoEN, copyCode("HEMAT20"), url("https://acme.co.id/a"), qr("Stop")), nil},
		{"buttons: two URL", buttons(promoEN, url("https://acme.co.id/a"), url("https://acme.co.id/b/{{1}}")),
			[]rc{{RuleVariableExampleMissing, "buttons[1]"}}},
		{"buttons: URL with example and phone", buttons(orderUpdate,
			Button{Type: ButtonURL, Text: "Lacak", URL: "https://acme.co.id/t/{{1}}", Example: "INV-9"}, phoneBtn("+6281234567890")), nil},
		{"buttons: ten quick replies", buttons(promoEN, qr("1"), qr("2"), qr("3"), qr("4"), qr("5"), qr("6"), qr("7"), qr("8"), qr("9"), qr("10")),
			[]rc{{RuleButtonsCollapsed, "buttons"}}},
		{"buttons: phone only", buttons(orderUpdate, phoneBtn("+6281234567890")), nil},
		{"buttons: copy code only", buttons(promoEN, copyCode("SAVE20")), nil},

		// Name, language, category.
		{"name with capitals and space", with(orderUpdate, func(t *Template) { t.Name = "Order Update" }), []rc{{RuleNameCharset, "name"}}},
		{"name with dash", with(orderUpdate, func(t *Template) { t.Name = "order-update" }), []rc{{RuleNameCharset, "name"}}},
		{"name too long", with(orderUpdate, func(t *Template) { t.Name = long513 }), []rc{{RuleNameLength, "name"}}},
		{"name empty", with(orderUpdate, func(t *Template) { t.Name = "" }), []rc{{RuleNameLength, "name"}}},
		{"language not a code", with(orderUpdate, func(t *Template) { t.Language = "Indonesian" }), []rc{{RuleLanguageCode, "language"}}},
		{"language well formed but unsupported", with(orderUpdate, func(t *Template) { t.Language = "xx_YY" }), []rc{{RuleLanguageCode, "language"}}},
		{"language with a region Meta does not list", with(orderUpdate, func(t *Template) { t.Language = "id_ID" }), []rc{{RuleLanguageCode, "language"}}},
		{"language Malay", with(orderUpdate, func(t *Template) { t.Language = "ms" }), nil},
		{"language Dari", with(orderUpdate, func(t *Template) { t.Language = "prs_AF" }), nil},
		{"category empty", with(orderUpdate, func(t *Template) { t.Category = "" }), []rc{{RuleCategoryUnknown, "category"}}},
		{"parameter format unknown", with(orderUpdate, func(t *Template) { t.ParameterFormat = "mixed" }), []rc{{RuleParameterFormatUnknown, "parameter_format"}}},
		{"utility ttl too short", with(orderUpdate, func(t *Template) { t.MessageSendTTLSeconds = 5 }), []rc{{RuleSendTTLRange, "template"}}},

		// Header.
		{"header unknown format", with(orderUpdate, func(t *Template) { t.Header = &Header{Format: "GIF", MediaHandle: "4::x"} }),
			[]rc{{RuleHeaderFormatUnknown, "header"}}},
		{"header text empty", with(orderUpdate, func(t *Template) { t.Header = &Header{Format: HeaderText} }),
			[]rc{{RuleHeaderTextRequired, "header"}}},
		{"header too long", with(orderUpdate, func(t *Template) { t.Header = &Header{Format: HeaderText, Text: strings.Repeat("Info ", 12) + "x"} }),
			[]rc{{RuleHeaderLength, "header"}}},
		{"header two variables", with(orderUpdate, func(t *Template) {
			t.Header = &Header{Format: HeaderText, Text: "Pesanan {{1}} untuk {{2}}", Examples: []string{"INV-9"}}
		}), []rc{{RuleHeaderVariableCount, "header"}, {RuleVariableExampleMissing, "header"}}},
		{"header variable numbered 2", with(orderUpdate, func(t *Template) {
			t.Header = &Header{Format: HeaderText, Text: "Pesanan {{2}}", Examples: []string{"a", "INV-9"}}
		}), []rc{{RuleVariableSequence, "header"}}},
		{"header variable without example", with(orderUpdate, func(t *Template) { t.Header.Examples = nil }),
			[]rc{{RuleVariableExampleMissing, "header"}}},
		{"header emoji", with(orderUpdate, func(t *Template) { t.Header.Text = "Pesanan {{1}} 📦" }), []rc{{RuleHeaderFormatting, "header"}}},
		{"header line break", with(orderUpdate, func(t *Template) { t.Header.Text = "Pesanan\n{{1}}" }), []rc{{RuleHeaderFormatting, "header"}}},
		{"header bold markup", with(orderUpdate, func(t *Template) { t.Header.Text = "*Pesanan* {{1}}" }), []rc{{RuleHeaderFormatting, "header"}}},
		{"header shortened link", with(orderUpdate, func(t *Template) { t.Header.Text = "Lihat bit.ly/x {{1}}" }), []rc{{RuleShortenedLink, "header"}}},
		{"image header without sample", with(promoEN, func(t *Template) { t.Header.MediaHandle = "" }), []rc{{RuleMediaSampleMissing, "header"}}},
		{"image sample over 5 MB", with(promoEN, func(t *Template) { t.Header.MediaSize = 6 << 20 }), []rc{{RuleMediaSampleSize, "header"}}},
		{"video sample over 10 MB", with(promoEN, func(t *Template) {
			t.Header = &Header{Format: HeaderVideo, MediaHandle: "4::dmlk", MediaSize: 12 << 20}
		}), []rc{{RuleMediaSampleSize, "header"}}},

		// Body and variables.
		{"body empty", body(orderUpdate, "  "), []rc{{RuleBodyRequired, "body"}}},
		{"body over 1024", body(orderUpdate, longBody(MaxBodyLen+1)), []rc{{RuleBodyLength, "body"}}},
		{"variables with a gap", body(orderUpdate, "Halo {{1}}, pesanan {{3}} sudah kami kirim hari ini dan tiba dalam dua hari kerja.", "Budi", "x", "INV-9"),
			[]rc{{RuleVariableSequence, "body"}}},
		{"variables out of order", body(orderUpdate, "Halo {{2}}, pesanan {{1}} sudah kami kirim hari ini dan tiba dalam dua hari kerja.", "INV-9", "Budi"),
			[]rc{{RuleVariableSequence, "body"}}},
		{"variable doubled", body(orderUpdate, "Halo {{1}}, pesanan {{2}} untuk {{1}} sudah kami kirim hari ini dan tiba dalam dua hari kerja.", "Budi", "INV-9"),
			[]rc{{RuleVariableDuplicate, "body"}}},
		{"body starts with variable", body(orderUpdate, "{{1}}, pesanan Anda sudah kami kirim hari ini dan tiba dalam dua hari kerja.", "Budi"),
			[]rc{{RuleVariableAtEdge, "body"}}},
		{"body ends with variable and a period", body(orderUpdate, "Halo, pesanan Anda sudah kami kirim hari ini dan akan tiba pada {{1}}.", "Senin"), nil},
		{"body ends with a bare variable", body(orderUpdate, "Halo, pesanan Anda sudah kami kirim hari ini dan akan tiba pada {{1}}", "Senin"),
			[]rc{{RuleVariableAtEdge, "body"}}},
		{"body ends with a variable and a line break", body(orderUpdate, "Halo, pesanan Anda sudah kami kirim hari ini dan akan tiba pada {{1}}\n", "Senin"),
			[]rc{{RuleVariableAtEdge, "body"}}},
		{"body starts with a variable after a line break", body(orderUpdate, "\n{{1}}, pesanan Anda sudah kami kirim hari ini dan tiba dalam dua hari kerja.", "Budi"),
			[]rc{{RuleVariableAtEdge, "body"}}},
		{"variable at the start of a later line", body(orderUpdate, "Halo Kak, pesanan Anda sudah kami kirim hari ini.\n{{1}} adalah nomor resi pengiriman Anda.", "JNE123"), nil},
		{"variables touching", body(orderUpdate, "Halo {{1}}{{2}}, pesanan Anda sudah kami kirim hari ini dan tiba dalam dua hari kerja.", "Budi", "Santoso"),
			[]rc{{RuleVariablesAdjacent, "body"}}},
		{"variables separated by a space", body(promoEN, "Dear {{1}} {{2}}, thank you for visiting our store, we hope to see you again very soon.", "Budi", "Santoso"),
			[]rc{{RuleVariablesAdjacent, "body"}}},
		{"too many variables for the length", body(orderUpdate, "Halo {{1}}, pesanan {{2}} dikirim.", "Budi", "INV-9"),
			[]rc{{RuleVariableDensity, "body"}}},
		{"body variable without example", body(orderUpdate, "Halo {{1}}, pesanan {{2}} sudah kami kirim hari ini dan tiba dalam dua hari kerja.", "Budi"),
			[]rc{{RuleVariableExampleMissing, "body"}}},
		{"blank example", body(orderUpdate, "Halo {{1}}, pesanan {{2}} sudah kami kirim hari ini dan tiba dalam dua hari kerja.", "Budi", " "),
			[]rc{{RuleVariableExampleMissing, "body"}}},
		{"extra example", body(orderUpdate, "Halo {{1}}, pesanan Anda sudah kami kirim hari ini dan tiba dalam dua hari kerja.", "Budi", "INV-9"),
			[]rc{{RuleVariableExampleUnused, "body"}}},
		{"spaces inside braces", body(orderUpdate, "Halo {{ 1 }}, pesanan Anda sudah kami kirim hari ini dan tiba dalam dua hari kerja.", "Budi"),
			[]rc{{RuleVariableSyntax, "body"}, {RuleVariableExampleUnused, "body"}}},
		{"unclosed variable", body(orderUpdate, "Halo {{1}}, pesanan Anda sudah kami kirim hari ini dan tiba dalam {{2 hari kerja.", "Budi"),
			[]rc{{RuleVariableSyntax, "body"}}},
		{"named variable in positional template", body(orderUpdate, "Halo {{nama}}, pesanan Anda sudah kami kirim hari ini dan tiba dalam dua hari kerja.", "Budi"),
			[]rc{{RuleVariableSyntax, "body"}, {RuleVariableExampleUnused, "body"}}},
		{"numbered variable in named template", with(namedEN, func(t *Template) {
			t.Body.Text = "Hello {{first_name}}, your parcel {{1}} is out for delivery and should arrive before noon today."
		}), []rc{{RuleVariableSyntax, "body"}, {RuleVariableExampleUnused, "body"}}},
		{"named variable without example", with(namedEN, func(t *Template) { t.Body.NamedExamples = t.Body.NamedExamples[:1] }),
			[]rc{{RuleVariableExampleMissing, "body"}}},
		{"line starts with a space", body(orderUpdate, "Halo {{1}}, pesanan Anda sudah kami kirim.\n Barang tiba dalam dua hari kerja.", "Budi"),
			[]rc{{RuleLeadingSpace, "body"}}},
		{"double space", body(orderUpdate, "Halo {{1}}, pesanan Anda  sudah kami kirim hari ini dan tiba dalam dua hari kerja.", "Budi"),
			[]rc{{RuleDoubleSpace, "body"}}},
		{"one blank line between paragraphs", body(orderUpdate, "Halo {{1}}, pesanan Anda sudah kami kirim.\n\nBarang tiba dalam dua hari kerja.", "Budi"), nil},
		{"one blank line, windows line breaks", body(orderUpdate, "Halo {{1}}, pesanan Anda sudah kami kirim.\r\n\r\nBarang tiba dalam dua hari kerja.", "Budi"), nil},
		{"two blank lines", body(orderUpdate, "Halo {{1}}, pesanan Anda sudah kami kirim.\n\n\nBarang tiba dalam dua hari kerja.", "Budi"),
			[]rc{{RuleConsecutiveNewlines, "body"}}},
		{"two blank lines, windows line breaks", body(orderUpdate, "Halo {{1}}, pesanan Anda sudah kami kirim.\r\n\r\n\r\nBarang tiba dalam dua hari kerja.", "Budi"),
			[]rc{{RuleConsecutiveNewlines, "body"}}},
		{"six emoji", body(promoEN, "Hai {{1}} 🎉🎉🎉 promo akhir pekan 🎁🎁🎁 sudah dimulai, pakai kode {{2}} di kasir ya.", "Budi", "HEMAT"),
			[]rc{{RuleTooManyEmoji, "body"}}},
		{"six multi-code-point emoji", body(promoEN, "Hai {{1}} 👋🏽 keluarga 👨‍👩‍👧‍👦 di 🇮🇩🇲🇾 dapat hadiah 🏳️‍🌈 1️⃣, pakai kode {{2}} di kasir ya.", "Budi", "HEMAT"),
			[]rc{{RuleTooManyEmoji, "body"}}},
		{"bit.ly link", body(promoEN, "Hi {{1}}, see the full list of new arrivals at https://bit.ly/3abc and use code {{2}} at checkout today.", "Budi", "NEW10"),
			[]rc{{RuleShortenedLink, "body"}}},
		{"s.id link", body(orderUpdate, "Halo {{1}}, cek status pesanan Anda di s.id/acme kapan saja ya, terima kasih.", "Budi"),
			[]rc{{RuleShortenedLink, "body"}}},
		{"full domain is fine", body(orderUpdate, "Halo {{1}}, cek status pesanan Anda di https://acme.co.id/status kapan saja ya.", "Budi"), nil},
		{"diskon in utility", body(orderUpdate, "Halo {{1}}, pesanan {{2}} sudah dikirim. Dapatkan diskon 50% untuk pesanan berikutnya!", "Budi", "INV-9"),
			[]rc{{RulePromotionalOffer, "body"}}},
		{"free in english utility", with(namedEN, func(t *Template) {
			t.Body.Text = "Hello {{first_name}}, your parcel {{tracking_id}} is on its way. Enjoy free shipping on your next order!"
		}), []rc{{RulePromotionalOffer, "body"}}},
		{"feel free in english utility only warns", with(namedEN, func(t *Template) {
			t.Body.Text = "Hello {{first_name}}, your parcel {{tracking_id}} is on its way. Feel free to reply if you need help."
		}), []rc{{RulePromotionalInUtility, "body"}}},
		{"sale in a receipt only warns", body(orderUpdate, "Halo {{1}}, terlampir bukti sale order {{2}} untuk pembelian Anda di gerai kami kemarin.", "Budi", "SO-12"),
			[]rc{{RulePromotionalInUtility, "body"}}},
		{"promo word inside another word", body(orderUpdate, "Halo {{1}}, tim promotor acara Anda sudah mengonfirmasi jadwal besok pagi.", "Budi"), nil},
		{"beli sekarang quick reply in utility", buttons(orderUpdate, qr("Beli sekarang")),
			[]rc{{RulePromotionalOffer, "buttons[0]"}}},

		// Footer.
		{"footer too long", with(orderUpdate, func(t *Template) { t.Footer.Text = strings.Repeat("Acme ", 12) + "x" }),
			[]rc{{RuleFooterLength, "footer"}}},
		{"footer variable", with(orderUpdate, func(t *Template) { t.Footer.Text = "Acme {{3}}" }), []rc{{RuleFooterVariable, "footer"}}},
		{"footer emoji", with(orderUpdate, func(t *Template) { t.Footer.Text = "Acme Indonesia 🇮🇩" }), []rc{{RuleFooterFormatting, "footer"}}},
		{"footer linktree", with(orderUpdate, func(t *Template) { t.Footer.Text = "linktr.ee/acme" }), []rc{{RuleShortenedLink, "footer"}}},

		// Buttons.
		{"eleven quick replies", buttons(promoEN, qr("1"), qr("2"), qr("3"), qr("4"), qr("5"), qr("6"), qr("7"), qr("8"), qr("9"), qr("10"), qr("11")),
			[]rc{{RuleButtonCount, "buttons"}, {RuleButtonsCollapsed, "buttons"}}},
		{"quick replies split by URL", buttons(promoEN, qr("Ya"), url("https://acme.co.id/a"), qr("Tidak")),
			[]rc{{RuleQuickReplyGrouping, "buttons"}}},
		{"quick replies in the middle", buttons(promoEN, url("https://acme.co.id/a"), qr("Ya"), qr("Tidak"), phoneBtn("+6281234567890")),
			[]rc{{RuleButtonsCollapsed, "buttons"}, {RuleQuickReplyGrouping, "buttons"}}},
		{"three URL buttons", buttons(promoEN, url("https://acme.co.id/a"), url("https://acme.co.id/b"), url("https://acme.co.id/c")),
			[]rc{{RuleURLButtonCount, "buttons"}}},
		{"two phone buttons", buttons(promoEN, phoneBtn("+6281234567890"), phoneBtn("+6281234567891")),
			[]rc{{RulePhoneButtonCount, "buttons"}}},
		{"two copy code buttons", buttons(promoEN, copyCode("A1"), copyCode("B2")),
			[]rc{{RuleCopyCodeCount, "buttons"}}},
		{"label too long", buttons(promoEN, qr("Saya tidak tertarik lagi dengan ini")),
			[]rc{{RuleButtonLabelLength, "buttons[0]"}}},
		{"label empty", buttons(promoEN, qr("")), []rc{{RuleButtonLabelRequired, "buttons[0]"}}},
		{"unknown button type", buttons(promoEN, Button{Type: "FLOW", Text: "Isi formulir"}), []rc{{RuleButtonTypeUnknown, "buttons[0]"}}},
		{"url missing", buttons(promoEN, url("")), []rc{{RuleURLRequired, "buttons[0]"}}},
		{"url without scheme", buttons(promoEN, url("acme.co.id/promo")), []rc{{RuleURLInvalid, "buttons[0]"}}},
		{"url variable in the middle", buttons(promoEN, Button{Type: ButtonURL, Text: "Lihat", URL: "https://acme.co.id/{{1}}/detail", Example: "x"}),
			[]rc{{RuleURLVariablePosition, "buttons[0]"}}},
		{"url two variables", buttons(promoEN, Button{Type: ButtonURL, Text: "Lihat", URL: "https://acme.co.id/{{1}}/{{2}}", Example: "x"}),
			[]rc{{RuleURLVariablePosition, "buttons[0]"}}},
		{"url variable in the domain", buttons(promoEN, Button{Type: ButtonURL, Text: "Lihat", URL: "https://{{1}}.acme.co.id/promo", Example: "x"}),
			[]rc{{RuleURLVariablePosition, "buttons[0]"}, {RuleURLFixedDomain, "buttons[0]"}}},
		{"url variable glued to the domain", buttons(promoEN, Button{Type: ButtonURL, Text: "Lihat", URL: "https://acme.co.id{{1}}", Example: "/x"}),
			[]rc{{RuleURLFixedDomain, "buttons[0]"}}},
		{"url too long", buttons(promoEN, url("https://acme.co.id/"+strings.Repeat("a", 2000))), []rc{{RuleURLLength, "buttons[0]"}}},
		{"url shortener", buttons(promoEN, url("https://bit.ly/{{1}}")),
			[]rc{{RuleVariableExampleMissing, "buttons[0]"}, {RuleShortenedLink, "buttons[0]"}}},
		{"phone starting with 0", buttons(orderUpdate, phoneBtn("081234567890")), []rc{{RulePhoneFormat, "buttons[0]"}}},
		{"phone without plus read as Japan", buttons(orderUpdate, phoneBtn("81234567890")), []rc{{RulePhoneFormat, "buttons[0]"}}},
		{"phone with country code but no plus", buttons(orderUpdate, phoneBtn("6281234567890")), []rc{{RulePhoneFormat, "buttons[0]"}}},
		{"phone plus and unknown country code", buttons(orderUpdate, phoneBtn("+999123456789")), []rc{{RulePhoneFormat, "buttons[0]"}}},
		{"phone hotline", buttons(orderUpdate, phoneBtn("+621500888")), nil},
		{"copy code in utility", buttons(orderUpdate, copyCode("HEMAT20")), []rc{{RuleCopyCodeCategory, "buttons[0]"}}},
		{"four quick replies grouped after a URL", buttons(promoEN, url("https://acme.co.id/a"), qr("1"), qr("2"), qr("3"), qr("4")),
			[]rc{{RuleButtonsCollapsed, "buttons"}}},
		{"four quick replies around a URL", buttons(promoEN, qr("1"), qr("2"), url("https://acme.co.id/a"), qr("3"), qr("4")),
			[]rc{{RuleButtonsCollapsed, "buttons"}, {RuleQuickReplyGrouping, "buttons"}}},
		{"phone with dashes", buttons(orderUpdate, phoneBtn("+62 812-3456-7890")), []rc{{RulePhoneFormat, "buttons[0]"}}},
		{"phone too short", buttons(orderUpdate, phoneBtn("62812")), []rc{{RulePhoneFormat, "buttons[0]"}}},
		{"phone empty", buttons(orderUpdate, Button{Type: ButtonPhoneNumber, Text: "Telepon"}), []rc{{RulePhoneFormat, "buttons[0]"}}},
		{"copy code without sample", buttons(promoEN, copyCode("")), []rc{{RuleCopyCodeExample, "buttons[0]"}}},
		{"copy code sample too long", buttons(promoEN, copyCode("HEMAT2026DESEMBER")), []rc{{RuleCopyCodeExample, "buttons[0]"}}},

		// Authentication.
		{"auth with image header", with(authTemplate, func(t *Template) { t.Header = &Header{Format: HeaderImage, MediaHandle: "4::x"} }),
			[]rc{{RuleAuthNoMedia, "header"}}},
		{"auth with location header", with(authTemplate, func(t *Template) { t.Header = &Header{Format: HeaderLocation} }),
			[]rc{{RuleAuthNoMedia, "header"}}},
		{"auth with text header", with(authTemplate, func(t *Template) { t.Header = &Header{Format: HeaderText, Text: "Kode"} }),
			[]rc{{RuleAuthShape, "header"}}},
		{"auth with body text and emoji", with(authTemplate, func(t *Template) { t.Body.Text = "Kode Anda {{1}} 🔐" }),
			[]rc{{RuleAuthShape, "body"}, {RuleAuthNoEmoji, "body"}}},
		{"auth with footer text", with(authTemplate, func(t *Template) { t.Footer = &Footer{Text: "Acme"} }),
			[]rc{{RuleAuthShape, "footer"}}},
		{"auth code expiry 91", with(authTemplate, func(t *Template) { t.CodeExpirationMinutes = 91 }),
			[]rc{{RuleAuthCodeExpiration, "footer"}}},
		{"auth ttl too long", with(authTemplate, func(t *Template) { t.MessageSendTTLSeconds = 3600 }),
			[]rc{{RuleSendTTLRange, "template"}}},
		{"auth without buttons", buttons(authTemplate), []rc{{RuleAuthShape, "buttons"}}},
		{"auth with URL button instead of OTP", buttons(authTemplate, url("https://acme.co.id/otp")),
			[]rc{{RuleAuthShape, "buttons"}, {RuleAuthNoURL, "buttons[0]"}}},
		{"auth with an extra quick reply", with(authTemplate, func(t *Template) { t.Buttons = append(t.Buttons, qr("Bukan saya")) }),
			[]rc{{RuleAuthShape, "buttons[1]"}}},
		{"auth otp type unknown", with(authTemplate, func(t *Template) { t.Buttons[0].OTPType = "SMS" }),
			[]rc{{RuleAuthOTPType, "buttons[0]"}}},
		{"auth one tap without apps", with(authTemplate, func(t *Template) { t.Buttons[0].OTPType = OTPOneTap }),
			[]rc{{RuleAuthOTPType, "buttons[0]"}}},
		{"auth zero tap without terms", with(authTemplate, func(t *Template) {
			t.Buttons[0].OTPType = OTPZeroTap
			t.Buttons[0].SupportedApps = []provider.SupportedApp{{PackageName: "id.acme", SignatureHash: "abc"}}
		}), []rc{{RuleAuthOTPType, "buttons[0]"}}},
		{"auth emoji in button label", with(authTemplate, func(t *Template) { t.Buttons[0].Text = "Salin 📋" }),
			[]rc{{RuleAuthNoEmoji, "buttons[0]"}}},
		{"OTP button in utility", buttons(orderUpdate, Button{Type: ButtonOTP, OTPType: OTPCopyCode}),
			[]rc{{RuleAuthOnlyField, "buttons[0]"}}},
		{"security recommendation in marketing", with(promoEN, func(t *Template) { t.AddSecurityRecommendation = true }),
			[]rc{{RuleAuthOnlyField, "body"}}},
		{"code expiry in utility", with(orderUpdate, func(t *Template) { t.CodeExpirationMinutes = 5 }),
			[]rc{{RuleAuthOnlyField, "footer"}}},

		// Several faults at once come in a fixed order.
		{"many faults", Template{
			Name:     "Promo Lebaran!",
			Language: "id",
			Category: CategoryUtility,
			Header:   &Header{Format: HeaderImage},
			Body:     Body{Text: "{{1}} dapat diskon  besar di bit.ly/lebaran {{3}}"},
			Footer:   &Footer{Text: "Balas STOP {{1}}"},
			Buttons:  []Button{qr("Ya"), url("https://{{1}}.acme.id"), qr("Tidak"), phoneBtn("0812")},
		}, []rc{
			{RuleNameCharset, "name"},
			{RuleMediaSampleMissing, "header"},
			{RuleVariableSequence, "body"},
			{RuleVariableAtEdge, "body"},
			{RuleVariableAtEdge, "body"},
			{RuleVariableExampleMissing, "body"},
			{RuleVariableExampleMissing, "body"},
			{RuleDoubleSpace, "body"},
			{RuleShortenedLink, "body"},
			{RulePromotionalOffer, "body"},
			{RuleFooterVariable, "footer"},
			{RuleButtonsCollapsed, "buttons"},
			{RuleQuickReplyGrouping, "buttons"},
			{RuleURLVariablePosition, "buttons[1]"},
			{RuleURLFixedDomain, "buttons[1]"},
			{RuleVariableExampleMissing, "buttons[1]"},
			{RulePhoneFormat, "buttons[3]"},
		}},
	}
	if len(tests) < 60 {
		t.Fatalf("only %d templates in the table", len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vs := Lint(tt.t)
			got := make([]rc, len(vs))
			for i, v := range vs {
				got[i] = rc{v.Rule, v.Component}
				if v.Severity != ruleSeverity[v.Rule] || v.Severity == "" {
					t.Errorf("%s: severity %q, table says %q", v.Rule, v.Severity, ruleSeverity[v.Rule])
				}
				if v.Message == "" {
					t.Errorf("%s: empty message", v.Rule)
				}
			}
			if !equalRC(got, tt.want) {
				t.Errorf("violations\n got %v\nwant %v", got, tt.want)
				for _, v := range vs {
					t.Logf("  %s %s %q: %s", v.Rule, v.Component, v.Text, v.Message)
				}
			}
			wantErr := false
			for _, w := range tt.want {
				wantErr = wantErr || ruleSeverity[w.rule] == SeverityError
			}
			if HasErrors(vs) != wantErr {
				t.Errorf("HasErrors = %v, want %v", HasErrors(vs), wantErr)
			}
		})
	}
}

func equalRC(a, b []rc) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestLintTextAndMessage(t *testing.T) {
	tests := []struct {
		name     string
		t        Template
		rule     string
		text     string
		contains string
	}{
		{"sixth emoji quoted", body(promoEN, "Hai {{1}} 🎉🎉🎉 promo 🎁🎁 dan 🇮🇩 sudah dimulai, pakai kode {{2}} di kasir ya.", "Budi", "X"),
			RuleTooManyEmoji, "🇮🇩", "6 emoji"},
		{"promotional names MARKETING", body(orderUpdate, "Halo {{1}}, pesanan sudah dikirim. Ada promo dan cashback untuk Anda minggu ini.", "Budi"),
			RulePromotionalOffer, "promo", `"promo", "cashback"`},
		{"gap names the missing number", body(orderUpdate, "Halo {{1}}, pesanan {{3}} sudah kami kirim hari ini dan tiba dalam dua hari kerja.", "a", "b", "c"),
			RuleVariableSequence, "{{3}}", "{{2}} is missing"},
		{"phone suggests country code", buttons(orderUpdate, phoneBtn("081234567890")),
			RulePhoneFormat, "081234567890", "(+6281234567890)"},
		{"phone without plus names the country it would call", buttons(orderUpdate, phoneBtn("81234567890")),
			RulePhoneFormat, "81234567890", `read "81" as a country code`},
		{"language suggests the supported code", with(orderUpdate, func(t *Template) { t.Language = "id_ID" }),
			RuleLanguageCode, "id_ID", "use id"},
		{"language suggests the right spelling", with(orderUpdate, func(t *Template) { t.Language = "en-us" }),
			RuleLanguageCode, "en-us", "use en_US"},
		{"language of several regions lists them", with(orderUpdate, func(t *Template) { t.Language = "pt" }),
			RuleLanguageCode, "pt", "use pt_BR or pt_PT"},
		{"bare end variable shows the fix", body(orderUpdate, "Halo Kak, nomor resi pesanan Anda adalah {{1}}", "JNE1"),
			RuleVariableAtEdge, "{{1}}", `"{{1}}."`},
		{"body length quotes the overflow", body(orderUpdate, longBody(MaxBodyLen)+"XYZ"),
			RuleBodyLength, "XYZ", "1027 characters"},
		{"density says how many words to add", body(orderUpdate, "Halo {{1}}, pesanan {{2}} dikirim.", "a", "b"),
			RuleVariableDensity, "Halo {{1}}, pesanan {{2}} dikirim.", "add 2 words"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, v := range Lint(tt.t) {
				if v.Rule != tt.rule {
					continue
				}
				if v.Text != tt.text || !strings.Contains(v.Message, tt.contains) {
					t.Errorf("got text %q message %q; want text %q, message containing %q", v.Text, v.Message, tt.text, tt.contains)
				}
				return
			}
			t.Errorf("no %s violation", tt.rule)
		})
	}
}

func TestRulesTable(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range Rules {
		if seen[r.ID] {
			t.Errorf("rule %s listed twice", r.ID)
		}
		seen[r.ID] = true
		if r.Description == "" || (r.Severity != SeverityError && r.Severity != SeverityWarning) {
			t.Errorf("rule %s: incomplete entry %+v", r.ID, r)
		}
	}
}

func TestExcerptIsBounded(t *testing.T) {
	vs := Lint(body(orderUpdate, " "+strings.Repeat("kata ", 300)))
	for _, v := range vs {
		if n := len([]rune(v.Text)); n > maxExcerpt {
			t.Errorf("%s: text of %d runes", v.Rule, n)
		}
	}
}

func BenchmarkLint1024(b *testing.B) {
	text := "Halo {{1}} 👋🏽, terima kasih sudah berbelanja di Acme Indonesia 🇮🇩. Pesanan {{2}} sebesar {{3}} sudah kami terima dan sedang disiapkan oleh tim gudang kami di Jakarta.\n" +
		"Kami akan mengirim pesanan melalui kurir {{4}} dalam waktu satu sampai dua hari kerja. Anda dapat memantau status pengiriman kapan saja di https://acme.co.id/lacak atau melalui aplikasi Acme 📦.\n" +
		"Jika ada pertanyaan tentang pesanan, pembayaran, atau pengembalian barang, silakan hubungi layanan pelanggan kami setiap hari pukul 08.00 sampai 21.00 WIB. Kami siap membantu 😊.\n" +
		"Mohon pastikan alamat pengiriman Anda sudah benar: {{5}}. Jika alamat perlu diubah, balas pesan ini sebelum pesanan diserahkan ke kurir agar kami dapat memperbaruinya.\n" +
		"Terima kasih atas kepercayaan Anda kepada Acme. Semoga hari Anda menyenangkan dan sampai jumpa di pesanan berikutnya 👨‍👩‍👧‍👦."
	for len([]rune(text)) < MaxBodyLen {
		text += " Salam hangat."
	}
	r := []rune(text)
	text = string(r[:MaxBodyLen-1]) + "."
	tpl := body(orderUpdate, text, "Budi", "INV-9", "Rp 150.000", "JNE", "Jl. Merdeka 1, Jakarta")
	if n := len([]rune(tpl.Body.Text)); n != MaxBodyLen {
		b.Fatalf("body is %d characters", n)
	}
	if vs := Lint(tpl); len(vs) != 0 {
		b.Fatalf("benchmark template should be valid, got %+v", vs)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		Lint(tpl)
	}
}

// TestQuickReplyGroupingExhaustive checks every arrangement of up to 8 quick replies
// and call-to-action buttons against the rule as Meta states it: the quick replies
// form one contiguous group at the start or at the end.
func TestQuickReplyGroupingExhaustive(t *testing.T) {
	for n := 1; n <= 8; n++ {
		for mask := 0; mask < 1<<n; mask++ {
			bs := make([]Button, n)
			first, last, count := -1, -1, 0
			for i := range bs {
				if mask&(1<<i) != 0 {
					bs[i] = qr("Ya")
					if first < 0 {
						first = i
					}
					last, count = i, count+1
				} else {
					bs[i] = url("https://acme.co.id/a")
				}
			}
			valid := count == 0 || last-first+1 == count && (first == 0 || last == n-1)
			if got := quickReplyOutOfGroup(bs); (got < 0) != valid {
				t.Errorf("%0*b: quickReplyOutOfGroup = %d, valid = %v", n, mask, got, valid)
			} else if got >= 0 && bs[got].Type != ButtonQuickReply {
				t.Errorf("%0*b: names button %d, which is not a quick reply", n, mask, got)
			}
		}
	}
}
