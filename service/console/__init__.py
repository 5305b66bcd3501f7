"""The web console's accounts and access: passwords, sessions, sign-in throttling."""
