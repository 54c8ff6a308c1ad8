// Package browsertest runs paved's HTTP and login controls in a real
// headless Chromium, so that each check reads the browser's own verdict:
// whether a script ran, a frame loaded, a cookie was stored and sent.
//
// It is a module of its own, so that the SDK's go.mod never names a
// browser driver (github.com/chromedp/chromedp). Its tests need Chromium
// (Debian's chromium package, found through PAVED_CHROMIUM or PATH): a
// unit run without it skips them with a message, and the integration run
// (PAVED_INTEGRATION=1, started by make test) fails without it, as does
// any run whose PAVED_CHROMIUM names a missing file.
//
// The browser trusts paved's development certificate and the test
// provider's certificate only through --ignore-certificate-errors-spki-list
// with their public-key hashes, an explicit pin set up by the test; it never
// ignores certificate errors in general. Each test gets a new browser
// context (its own cookies, HSTS and cache) in one shared browser process,
// whose profile directory under os.TempDir is removed at the end; a run
// that could not clean up (a test timeout's panic, a kill) has its
// profile removed by the next run. The browser dies with the test binary.
// When a test fails, screenshots of the pages it saw are written under
// $PAVED_ARTIFACTS (default a directory under os.TempDir), and the path is
// logged.
package browsertest
