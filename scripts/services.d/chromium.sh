# Chromium for the browser suite (internal/browsertest): Debian's chromium and
# chromium-driver, headless. Nothing runs as a service: each test binary starts
# one browser process of its own (fresh profile, explicit flags) and stops it.
SERVICE_HOOKS+=(chromium)

chromium_packages() {
	command -v chromium >/dev/null || echo chromium
	command -v chromedriver >/dev/null || echo chromium-driver
	return 0
}

chromium_env() {
	local bin
	bin=$(command -v chromium || true)
	[ -n "$bin" ] || die "chromium is not installed (Debian package chromium)"
	echo "PAVED_CHROMIUM=$bin"
}
