"""python -m services.intake: serve the intake service on its configured port."""

from services.intake.app import create_app
from services.intake.config import IntakeSettings
from shared.serve import serve

if __name__ == "__main__":
    settings = IntakeSettings()
    serve(lambda: create_app(settings), settings, name="intake")
