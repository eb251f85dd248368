package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"kirim/provider"
	"kirim/storage"
)

// Key layout of inbound messages (prefixes are declared in storage/keys.go):
//
//	ib/<id>                                  inbound record JSON
//	ix/a/<account>\0<id>                     every inbound message of an account
//	ix/p/<account>\0<from>\0<id>             by customer (E.164)
//	ix/m/<media id>\0<account>\0<id>         by media id, for the media's owner
//	ix/w/<wamid>                             provider message id -> inbound id
//
// Inbound ids are storage.NewID("inb", <arrival>): time-ordered like message ids, so
// one account's inbound and outbound messages merge by the time part of their ids.

// ErrInboundNotFound is returned for an inbound message the account does not have.
var ErrInboundNotFound = errors.New("engine: inbound message not found")

// InboundRecord is a customer's message as stored: who wrote to which number of which
// account, and what they sent (Content: the provider's message object as received).
type InboundRecord struct {
	ID            string    `json:"id"`
	Account       string    `json:"account"`
	Number        string    `json:"number"`
	PhoneNumberID string    `json:"phone_number_id"`
	From          string    `json:"from"`
	WaID          string    `json:"wa_id"`
	WAMID         string    `json:"wamid"`
	Type          string    `json:"type"`
	At            time.Time `json:"at"`
	Name          string    `json:"name,omitempty"`
	MediaID       string    `json:"media_id,omitempty"`
	// Content is the provider's whole inbound message object (text, media id, mime type
	// and caption, location, contacts, replies, reaction, ...). Never logged.
	Content json.RawMessage `json:"content,omitempty"`
	// Context is the message this one replies to; Reaction the one it reacts to.
	Context  *MessageRef `json:"context,omitempty"`
	Reaction *MessageRef `json:"reaction,omitempty"`
}

// MessageRef names a message of a conversation by the provider's id and, when it is
// one of the account's own (outbound msg_ or inbound inb_), by Kirim's id.
type MessageRef struct {
	WAMID     string `json:"wamid"`
	MessageID string `json:"message_id,omitempty"`
}

// Decoded returns the record's content as the provider's message type.
func (r *InboundRecord) Decoded() (*provider.InboundMessage, error) {
	var m provider.InboundMessage
	if len(r.Content) == 0 {
		return &m, nil
	}
	if err := json.Unmarshal(r.Content, &m); err != nil {
		return nil, fmt.Errorf("engine: inbound %s: content: %w", r.ID, err)
	}
	return &m, nil
}

// InboundOf turns one provider message into the engine's Inbound: the text keywords
// are matched against, the replied-to wamid, the media id and the whole message.
func InboundOf(phoneNumberID, name string, m *provider.InboundMessage) Inbound {
	ib := Inbound{
		PhoneNumberID: phoneNumberID, WaID: m.From, Name: name, MessageID: m.ID,
		Type: m.Type, At: unixTime(int64(m.Timestamp)), Referral: m.Referral != nil,
	}
	switch {
	case m.Text != nil:
		ib.Text = m.Text.Body
	case m.Button != nil:
		ib.Text = m.Button.Payload
	case m.Interactive != nil && m.Interactive.ButtonReply != nil:
		ib.Text = m.Interactive.ButtonReply.ID
	}
	if m.Context != nil {
		ib.Context = m.Context.ID
	}
	if md := MediaOf(m); md != nil {
		ib.MediaID = md.ID
	}
	if m.Reaction != nil {
		ib.ReactionTo = m.Reaction.MessageID
	}
	// Marshalling a decoded message cannot fail: it holds no channels, funcs or NaNs
	// (json.Unmarshal never makes one).
	ib.Message, _ = json.Marshal(m)
	return ib
}

// MediaOf returns the media object of an image, video, audio, document or sticker
// message; nil for any other.
func MediaOf(m *provider.InboundMessage) *provider.InboundMedia {
	for _, md := range []*provider.InboundMedia{m.Image, m.Video, m.Audio, m.Document, m.Sticker} {
		if md != nil && md.ID != "" {
			return md
		}
	}
	return nil
}

func unixTime(s int64) time.Time {
	if s <= 0 {
		return time.Time{}
	}
	return time.Unix(s, 0).UTC()
}

const (
	ixInAll   = "a/"
	ixInPhone = "p/"
	ixInMedia = "m/"
	ixInWAMID = "w/"
)

func inboundKey(id string) []byte { return storage.Key(storage.PrefixInbound, []byte(id)) }

func ixInAllPrefix(account string) []byte {
	return storage.Key(storage.PrefixInboundIndex+ixInAll, storage.Str(account))
}

func ixInPhonePrefix(account, from string) []byte {
	return storage.Key(storage.PrefixInboundIndex+ixInPhone, storage.Str(account), storage.Str(from))
}

func ixInMediaPrefix(mediaID, account string) []byte {
	return storage.Key(storage.PrefixInboundIndex+ixInMedia, storage.Str(mediaID), storage.Str(account))
}

func ixInWAMIDKey(wamid string) []byte {
	return storage.Key(storage.PrefixInboundIndex+ixInWAMID, []byte(wamid))
}

// numberByPhoneID returns the configured number with the provider's phone number id.
func (e *Engine) numberByPhoneID(id string) (Number, bool) {
	for _, a := range e.order {
		if n := e.dispatchers[a].num; n.PhoneNumberID == id {
			return n, true
		}
	}
	return Number{}, false
}

// storeInbound writes the record of one fresh inbound message and its indexes, then
// calls the OnInbound hook in the same transaction.
func (e *Engine) storeInbound(tx storage.Txn, ib Inbound) (*InboundRecord, error) {
	num, _ := e.numberByPhoneID(ib.PhoneNumberID)
	now := e.clock.Now().UTC()
	at := ib.At
	if at.IsZero() {
		at = now
	}
	// The id takes the time of arrival, not the provider's timestamp: that one counts
	// whole seconds, so several replies within a second, and a send between them,
	// would not keep their order; and a late redelivery would slip behind a page a
	// client has already read.
	rec := &InboundRecord{
		ID: storage.NewID("inb", now), Account: num.Account, Number: num.Alias, PhoneNumberID: ib.PhoneNumberID,
		From: "+" + ib.WaID, WaID: ib.WaID, WAMID: ib.MessageID, Type: ib.Type, At: at, Name: ib.Name,
		MediaID: ib.MediaID, Content: ib.Message,
	}
	var err error
	if ib.Context != "" {
		if rec.Context, err = resolveRef(tx, rec.Account, ib.Context); err != nil {
			return nil, err
		}
	}
	if ib.ReactionTo != "" {
		if rec.Reaction, err = resolveRef(tx, rec.Account, ib.ReactionTo); err != nil {
			return nil, err
		}
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return nil, fmt.Errorf("engine: inbound %s: encode: %w", rec.ID, err)
	}
	sets := [][2][]byte{
		{inboundKey(rec.ID), b},
		{storage.Key(string(ixInAllPrefix(rec.Account)), []byte(rec.ID)), nil},
		{storage.Key(string(ixInPhonePrefix(rec.Account, rec.From)), []byte(rec.ID)), nil},
	}
	if rec.MediaID != "" {
		sets = append(sets, [2][]byte{storage.Key(string(ixInMediaPrefix(rec.MediaID, rec.Account)), []byte(rec.ID)), nil})
	}
	if rec.WAMID != "" {
		sets = append(sets, [2][]byte{ixInWAMIDKey(rec.WAMID), []byte(rec.ID)})
	}
	for _, kv := range sets {
		if err := tx.Set(kv[0], kv[1]); err != nil {
			return nil, fmt.Errorf("engine: inbound %s: %w", rec.ID, err)
		}
	}
	if e.opts.OnInbound != nil {
		if err := e.opts.OnInbound(tx, rec); err != nil {
			return nil, fmt.Errorf("engine: inbound %s: hook: %w", rec.ID, err)
		}
	}
	return rec, nil
}

// resolveRef finds the account's own message with the provider id wamid: one it sent,
// or one it received.
func resolveRef(tx storage.Reader, account, wamid string) (*MessageRef, error) {
	ref := &MessageRef{WAMID: wamid}
	if id, err := tx.Get(wamidKey(wamid)); err == nil {
		m, err := loadMessage(tx, string(id))
		if err != nil && !errors.Is(err, ErrNotFound) {
			return nil, fmt.Errorf("engine: context %s: %w", wamid, err)
		}
		if m != nil && m.AccountID == account {
			ref.MessageID = m.ID
		}
		return ref, nil
	} else if !errors.Is(err, storage.ErrNotFound) {
		return nil, fmt.Errorf("engine: context %s: %w", wamid, err)
	}
	id, err := tx.Get(ixInWAMIDKey(wamid))
	if errors.Is(err, storage.ErrNotFound) {
		return ref, nil
	}
	if err != nil {
		return nil, fmt.Errorf("engine: context %s: %w", wamid, err)
	}
	rec, err := loadInbound(tx, string(id))
	if err != nil && !errors.Is(err, ErrInboundNotFound) {
		return nil, err
	}
	if rec != nil && rec.Account == account {
		ref.MessageID = rec.ID
	}
	return ref, nil
}

func loadInbound(r storage.Reader, id string) (*InboundRecord, error) {
	b, err := r.Get(inboundKey(id))
	if errors.Is(err, storage.ErrNotFound) {
		return nil, ErrInboundNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("engine: inbound %s: %w", id, err)
	}
	var rec InboundRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, fmt.Errorf("engine: inbound %s: decode: %w", id, err)
	}
	return &rec, nil
}

// Inbound returns the account's inbound message with id (ErrInboundNotFound when it
// is another account's or none).
func (e *Engine) Inbound(account, id string) (*InboundRecord, error) {
	var rec *InboundRecord
	err := e.db.View(func(r storage.Reader) error {
		var err error
		rec, err = loadInbound(r, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	if rec.Account != account {
		return nil, ErrInboundNotFound
	}
	return rec, nil
}

// InboundByMedia returns the account's inbound message that carried the media id
// (ErrInboundNotFound when no message of the account did).
func (e *Engine) InboundByMedia(account, mediaID string) (*InboundRecord, error) {
	if mediaID == "" {
		return nil, ErrInboundNotFound
	}
	prefix := ixInMediaPrefix(mediaID, account)
	var rec *InboundRecord
	err := e.db.View(func(r storage.Reader) error {
		return r.Iterate(prefix, storage.IterOptions{KeysOnly: true}, func(k, _ []byte) (bool, error) {
			got, err := loadInbound(r, string(k[len(prefix):]))
			if errors.Is(err, ErrInboundNotFound) {
				return true, nil
			}
			if err != nil {
				return false, err
			}
			if got.Account == account && got.MediaID == mediaID {
				rec = got
				return false, nil
			}
			return true, nil
		})
	})
	if err != nil {
		return nil, err
	}
	if rec == nil {
		return nil, ErrInboundNotFound
	}
	return rec, nil
}

// pageLimit applies the listings' default (50) and cap (MaxListLimit).
func pageLimit(limit int) int {
	if limit <= 0 {
		return 50
	}
	return min(limit, MaxListLimit)
}

// InboundList returns one page of the account's inbound messages, newest first: all
// of them, or those from phone (E.164) when it is set. cursor is the last id of the
// previous page; next is "" at the end.
func (e *Engine) InboundList(account, phone, cursor string, limit int) ([]*InboundRecord, string, error) {
	limit = pageLimit(limit)
	prefix := ixInAllPrefix(account)
	if phone != "" {
		prefix = ixInPhonePrefix(account, phone)
	}
	var out []*InboundRecord
	next := ""
	err := e.db.View(func(r storage.Reader) error {
		ids, more, err := pageIDs(r, prefix, "inb", cursor, limit)
		if err != nil {
			return err
		}
		for _, id := range ids {
			rec, err := loadInbound(r, id)
			if err != nil {
				return fmt.Errorf("engine: inbound list: %w", err)
			}
			out = append(out, rec)
		}
		if more && len(ids) > 0 {
			next = ids[len(ids)-1]
		}
		return nil
	})
	return out, next, err
}

// pageIDs reads up to limit ids under prefix, newest first, that come after cursor in
// the conversation order (see convLess); more is true when further ids follow. The ids
// under prefix all start with kind and "_".
func pageIDs(r storage.Reader, prefix []byte, kind, cursor string, limit int) (ids []string, more bool, err error) {
	opts := storage.IterOptions{Reverse: true, KeysOnly: true}
	if cursor != "" {
		opts.Start = storage.Key(string(prefix), []byte(kind+"_"+idTail(cursor)))
	}
	err = r.Iterate(prefix, opts, func(k, _ []byte) (bool, error) {
		id := string(k[len(prefix):])
		if cursor != "" && !convLess(id, cursor) {
			return true, nil
		}
		if len(ids) == limit {
			more = true
			return false, nil
		}
		ids = append(ids, id)
		return true, nil
	})
	return ids, more, err
}

// idTail is the time-ordered part of an id ("01J..." of "msg_01J...").
func idTail(id string) string {
	if i := strings.LastIndexByte(id, '_'); i >= 0 {
		return id[i+1:]
	}
	return id
}

// convLess orders a conversation: a is older than b when its time-ordered part is
// smaller, or, in the unlikely case of equal parts, when its whole id is.
func convLess(a, b string) bool {
	ta, tb := idTail(a), idTail(b)
	if ta != tb {
		return ta < tb
	}
	return a < b
}

// Directions of a conversation's items.
const (
	DirectionInbound  = "inbound"
	DirectionOutbound = "outbound"
)

// ConversationItem is one message of a conversation: Message when outbound, Inbound
// when inbound.
type ConversationItem struct {
	Direction string
	Message   *Message
	Inbound   *InboundRecord
}

// ID is the item's id (msg_... or inb_...).
func (c ConversationItem) ID() string {
	if c.Message != nil {
		return c.Message.ID
	}
	return c.Inbound.ID
}

// Conversation returns one page of the account's conversation with phone (E.164):
// the messages sent to it and those received from it, merged newest first.
//
// The cursor is the id of the last item of the previous page, of either direction.
// Both kinds of id are storage.NewID values, whose time-ordered parts sort together;
// the next page holds the items before the cursor in that order (convLess), so a page
// boundary falling between an outbound and an inbound message loses or repeats
// neither.
func (e *Engine) Conversation(account, phone, cursor string, limit int) ([]ConversationItem, string, error) {
	limit = pageLimit(limit)
	var out []ConversationItem
	next := ""
	err := e.db.View(func(r storage.Reader) error {
		outIDs, outMore, err := pageIDs(r, ixToPrefix(account, phone), "msg", cursor, limit)
		if err != nil {
			return err
		}
		inIDs, inMore, err := pageIDs(r, ixInPhonePrefix(account, phone), "inb", cursor, limit)
		if err != nil {
			return err
		}
		more := outMore || inMore
		var merged []string
		i, j := 0, 0
		for i < len(outIDs) || j < len(inIDs) {
			var id string
			if j >= len(inIDs) || (i < len(outIDs) && convLess(inIDs[j], outIDs[i])) {
				id, i = outIDs[i], i+1
			} else {
				id, j = inIDs[j], j+1
			}
			if len(merged) == limit {
				more = true
				break
			}
			merged = append(merged, id)
		}
		for _, id := range merged {
			if strings.HasPrefix(id, "inb_") {
				rec, err := loadInbound(r, id)
				if err != nil {
					return fmt.Errorf("engine: conversation: %w", err)
				}
				out = append(out, ConversationItem{Direction: DirectionInbound, Inbound: rec})
				continue
			}
			m, err := loadMessage(r, id)
			if err != nil {
				return fmt.Errorf("engine: conversation: %w", err)
			}
			if m.AccountID != account || m.To != phone {
				continue
			}
			out = append(out, ConversationItem{Direction: DirectionOutbound, Message: m})
		}
		if more && len(merged) > 0 {
			next = merged[len(merged)-1]
		}
		return nil
	})
	return out, next, err
}
