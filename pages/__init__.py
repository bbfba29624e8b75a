"""The portal's pages (Dash multipage; each file registers itself)."""
