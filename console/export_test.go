package console

import "testing"

// SetSpendScan bounds the statement rows the dashboard reads for this month's spend
// until the test ends: set it before the test starts its Kirim.
func SetSpendScan(t *testing.T, n int) {
	old := spendScan
	spendScan = n
	t.Cleanup(func() { spendScan = old })
}
