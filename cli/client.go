package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// maxAnswer bounds what a command reads of the server's answer.
const maxAnswer = 4 << 20

// callServer sends one request to the running server with the API key and decodes a
// JSON answer of status want into out (nil: the body is not read). Any other status
// becomes serverError.
func callServer(ctx context.Context, client *http.Client, method, url, key, contentType string, body io.Reader, want int, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		if c, ok := body.(io.Closer); ok {
			c.Close()
		}
		return err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := client.Do(req) // closes body, also on errors
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if resp.StatusCode != want {
		return serverError(resp, b)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("unexpected answer: %w", err)
	}
	return nil
}

// serverError turns an error envelope into a readable error.
func serverError(resp *http.Response, body []byte) error {
	var env struct {
		Error struct {
			Code, Message string
		} `json:"error"`
	}
	if json.Unmarshal(body, &env) == nil && env.Error.Message != "" {
		return fmt.Errorf("server answered %s: %s (%s)", resp.Status, env.Error.Message, env.Error.Code)
	}
	return fmt.Errorf("server answered %s: %s", resp.Status, strings.TrimSpace(string(body)))
}
