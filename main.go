// Command kirim is a self-hosted WhatsApp Business proactive-messaging appliance. The
// commands live in package cli, the wiring in package app.
package main

import (
	"context"
	"os"

	"kirim/cli"
)

func main() {
	os.Exit(cli.Main(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}
