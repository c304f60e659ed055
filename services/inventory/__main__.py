"""python -m services.inventory: serve the inventory service on its configured port."""

from services.inventory.app import create_app
from services.inventory.config import InventorySettings
from shared.serve import serve

if __name__ == "__main__":
    settings = InventorySettings()
    serve(lambda: create_app(settings), settings, name="inventory")
