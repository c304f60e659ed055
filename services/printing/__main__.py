"""python -m services.printing: serve the printing service on its configured port."""

from services.printing.app import create_app
from services.printing.config import PrintingSettings
from shared.serve import serve

if __name__ == "__main__":
    settings = PrintingSettings()
    serve(lambda: create_app(settings), settings, name="printing")
