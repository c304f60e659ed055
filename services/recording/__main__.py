"""python -m services.recording: serve the recording service on its configured port."""

from services.recording.app import create_app
from services.recording.config import RecordingSettings
from shared.serve import serve

if __name__ == "__main__":
    settings = RecordingSettings()
    serve(lambda: create_app(settings), settings, name="recording")
