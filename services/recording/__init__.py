"""Recording capture: jemput bola visits, perekaman outcomes and SIAK status."""
