// Package lists owns contacts and contact lists: their records in storage and the
// streamed import of CSV and XLSX files into them.
package lists

// Store keeps contacts and lists.
type Store struct{}
