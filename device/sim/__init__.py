"""Device simulators that speak the real byte protocols on a pty (tests, demo, bench)."""
