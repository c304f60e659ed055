"""Coverage: read models built from every topic, their queries and the dashboard."""
