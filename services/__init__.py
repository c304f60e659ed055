"""The five services of the e-KTP outreach system."""
