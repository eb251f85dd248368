package app

import "kirim/campaign/lists"

// setupLists opens the contact lists store (it marks imports cut short by a stop as
// failed, keeping what they imported).
func (m *Main) setupLists() error {
	s, err := lists.Open(m.DB, m.Clock, m.Logger)
	if err != nil {
		return err
	}
	s.OnFinished(m.importEvent)
	m.Lists = s
	return nil
}
