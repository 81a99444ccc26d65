"""The XES tab: the spectra list and plot, its tools (normalise, background, metrics, fits, repeats) and exports."""
