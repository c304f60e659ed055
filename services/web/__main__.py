"""python -m services.web: serve the web app on its configured port."""

from services.web.app import create_app
from services.web.config import WebSettings
from shared.serve import serve

if __name__ == "__main__":
    settings = WebSettings()
    serve(lambda: create_app(settings), settings, name="web", paths="pages /, metrics /metrics")
