"""Parts every tab uses: the one plot canvas, dialog geometry, the flow layout, the worker pool, settings and save targets."""
