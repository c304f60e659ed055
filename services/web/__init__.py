"""The web app for people: kecamatan clerks, jemput bola field teams, print-station operators and the
dinas sign in as themselves and work through pages. It reaches the five services only through their
public HTTP APIs, with its own key acting for the signed-in person's office (shared/auth.py)."""
