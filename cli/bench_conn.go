package cli

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// benchConn is one keep-alive HTTP/1.1 connection of the bench's load generator. It
// writes each request with one write and reads the answer with the standard library's
// response parser, on the calling goroutine: net/http's Transport hands every request
// between pooled connections and their read and write goroutines, and on a 2-core
// machine that costs about half as much CPU again as Kirim's own accept, taken from
// the server being measured.
type benchConn struct {
	addr string
	c    net.Conn
	br   *bufio.Reader
	req  bytes.Buffer
}

func (c *benchConn) close() {
	if c.c != nil {
		_ = c.c.Close()
		c.c = nil
	}
}

// post sends one POST and returns the status and body. hdr holds header name and value
// pairs. When a reused connection turns out closed by the server before any answer,
// the request is sent once more on a new one.
func (c *benchConn) post(path string, body []byte, hdr ...string) (int, []byte, error) {
	c.req.Reset()
	fmt.Fprintf(&c.req, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n", path, c.addr, len(body))
	for i := 0; i+1 < len(hdr); i += 2 {
		c.req.WriteString(hdr[i])
		c.req.WriteString(": ")
		c.req.WriteString(hdr[i+1])
		c.req.WriteString("\r\n")
	}
	c.req.WriteString("\r\n")
	c.req.Write(body)
	reused := c.c != nil
	code, out, err := c.roundTrip()
	if err != nil && reused && errors.Is(err, io.EOF) {
		c.close()
		code, out, err = c.roundTrip()
	}
	if err != nil {
		c.close()
	}
	return code, out, err
}

func (c *benchConn) roundTrip() (int, []byte, error) {
	if c.c == nil {
		conn, err := net.DialTimeout("tcp", c.addr, 10*time.Second)
		if err != nil {
			return 0, nil, err
		}
		c.c, c.br = conn, bufio.NewReaderSize(conn, 4096)
	}
	if err := c.c.SetDeadline(time.Now().Add(30 * time.Second)); err != nil {
		return 0, nil, err
	}
	if _, err := c.c.Write(c.req.Bytes()); err != nil {
		return 0, nil, err
	}
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		return 0, nil, err
	}
	out, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return 0, nil, err
	}
	if resp.Close {
		c.close()
	}
	return resp.StatusCode, out, nil
}
