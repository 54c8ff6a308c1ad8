package browsertest_test

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/pavedroad/paved"
)

// click clicks the first element matching a CSS selector.
func click(sel string) chromedp.Action[chromedp.Void] {
	return chromedp.Click(chromedp.CSS(sel))
}

// recordingSink keeps the types of the events it receives.
type recordingSink struct {
	mu sync.Mutex
	ts []string
}

func (s *recordingSink) Enabled(context.Context, paved.EventType) bool { return true }

func (s *recordingSink) Emit(_ context.Context, e paved.Event) {
	s.mu.Lock()
	s.ts = append(s.ts, string(e.Type))
	s.mu.Unlock()
}

func (s *recordingSink) types() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.ts)
}

// requestLog is what the browser's network stack saw of the requests
// for one URL: each response status (from the raw response, which
// DevTools sees even when the page is not given the response) and each
// reason the browser blocked a response from the page.
type requestLog struct {
	mu       sync.Mutex
	ids      map[network.RequestID]bool
	statuses []int64
	blocked  []string
}

// get returns what was seen, waiting up to 5s for a status and, when
// wantBlocked, for a blocked reason: DevTools may report them after the
// page has its answer.
func (l *requestLog) get(wantBlocked bool) (statuses []int64, blocked []string) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		l.mu.Lock()
		statuses, blocked = slices.Clone(l.statuses), slices.Clone(l.blocked)
		l.mu.Unlock()
		if (len(statuses) > 0 && (!wantBlocked || len(blocked) > 0)) || time.Now().After(deadline) {
			return statuses, blocked
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// watchRequests starts recording the tab's requests for u.
func watchRequests(tb *tab, u string) *requestLog {
	l := &requestLog{ids: map[network.RequestID]bool{}}
	sent := chromedp.Events(tb.ctx, network.RequestWillBeSent) // subscribed now
	extra := chromedp.Events(tb.ctx, network.ResponseReceivedExtraInfo)
	failed := chromedp.Events(tb.ctx, network.LoadingFailed)
	go func() {
		for ev, err := range sent {
			if err != nil {
				return
			}
			if ev.Request.URL == u {
				l.mu.Lock()
				l.ids[ev.RequestID] = true
				l.mu.Unlock()
			}
		}
	}()
	go func() {
		for ev, err := range extra {
			if err != nil {
				return
			}
			l.mu.Lock()
			if l.ids[ev.RequestID] {
				l.statuses = append(l.statuses, ev.StatusCode)
			}
			l.mu.Unlock()
		}
	}()
	go func() {
		for ev, err := range failed {
			if err != nil {
				return
			}
			l.mu.Lock()
			if l.ids[ev.RequestID] {
				l.blocked = append(l.blocked, string(ev.BlockedReason))
			}
			l.mu.Unlock()
		}
	}()
	return l
}
