"""Card printing: the print queue, its routing to print stations, and hand-over."""
