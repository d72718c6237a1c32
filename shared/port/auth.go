// Authentication: Port's client-credentials exchange, and the cached access
// token every request carries.

package port

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	retryablehttp "github.com/hashicorp/go-retryablehttp"
)

// accessToken returns a cached token, refreshed a minute before expiry.
func (c *Client) accessToken(ctx context.Context, force bool) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !force && c.token != "" && time.Now().Before(c.expires.Add(-time.Minute)) {
		return c.token, nil
	}
	body, _ := json.Marshal(map[string]string{"clientId": c.opts.ClientID, "clientSecret": c.opts.ClientSecret})
	req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodPost, c.opts.BaseURL+"/v1/auth/access_token", body)
	if err != nil {
		return "", fmt.Errorf("port: auth: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	c.Stats.Requests.Add(1)
	c.Stats.count("POST /v1/auth/access_token")
	resp, err := c.http.Do(req)
	if err != nil {
		return "", fmt.Errorf("port: auth: %w", scrub(err))
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return "", &APIError{Op: "auth (check portClientId and portClientSecret)", Status: resp.StatusCode, Message: message(b)}
	}
	var tok struct {
		AccessToken string `json:"accessToken"`
		ExpiresIn   int    `json:"expiresIn"`
		TokenType   string `json:"tokenType"`
	}
	if err := json.Unmarshal(b, &tok); err != nil || tok.AccessToken == "" {
		return "", errors.New("port: auth: the answer has no access token")
	}
	c.token = tok.AccessToken
	c.expires = time.Now().Add(time.Duration(tok.ExpiresIn) * time.Second)
	return c.token, nil
}
