"""The domain of the Elektron sog'liqni saqlash portal: models, rules and services, no web code."""
