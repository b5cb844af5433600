#!/bin/sh
# Playwright `executablePath` wrapper: run Chromium inside network namespace
# $R102_NS (set it through Playwright's launch({ env })). Playwright drives the
# browser over a pipe (--remote-debugging-pipe, fds 3/4), which survives the
# exec, so no TCP debugging port has to cross namespaces.
# CHROMIUM overrides the binary (default /usr/bin/chromium, Debian's wrapper).
: "${R102_NS:?chromium-in-ns.sh: set R102_NS to the network namespace}"
exec ip netns exec "$R102_NS" "${CHROMIUM:-/usr/bin/chromium}" "$@"
