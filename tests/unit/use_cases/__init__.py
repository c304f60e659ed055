"""Use-case tests of every service against in-memory fakes (milliseconds each, no infrastructure)."""
