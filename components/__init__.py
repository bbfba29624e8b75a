"""Shared building blocks of the portal's pages."""
