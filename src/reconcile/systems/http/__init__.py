"""The HTTP plumbing every connector shares: one client with auth, rate limits, retries and a breaker."""
