"""The RXES tab: the map and its cuts, the profiles, the cut table, map exports."""
