"""Sign-in, sessions, roles and permissions."""
