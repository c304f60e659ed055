"""In-memory stand-ins for the ports of each service, for use-case tests without infrastructure."""
