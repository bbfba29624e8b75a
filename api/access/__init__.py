"""Who may call the API (issue 8): organization clients and patients, bearer tokens, scopes, rate limits."""
