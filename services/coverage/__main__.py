"""python -m services.coverage: serve the coverage service on its configured port."""

from services.coverage.app import create_app
from services.coverage.config import CoverageSettings
from shared.serve import serve

if __name__ == "__main__":
    settings = CoverageSettings()
    serve(lambda: create_app(settings), settings, name="coverage")
