"""Access: installation requests, personal cabinets, login identities, employment notices, inventory."""
