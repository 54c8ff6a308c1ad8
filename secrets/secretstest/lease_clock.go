package secretstest

import "time"

// Next returns how long until the earliest pending After fires, and false
// when none is pending: a test steps a retry loop without knowing its
// jittered delays.
func (c *Clock) Next() (time.Duration, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.waiters) == 0 {
		return 0, false
	}
	at := c.waiters[0].at
	for _, w := range c.waiters[1:] {
		if w.at.Before(at) {
			at = w.at
		}
	}
	return at.Sub(c.now), true
}
