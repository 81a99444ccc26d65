"""xestools: XES/RXES viewer and analysis for Diamond I20 scan files."""
__version__ = "0.1.0"
