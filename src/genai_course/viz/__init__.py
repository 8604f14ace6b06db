"""Figures shared by the notebooks: image grids, attention maps, curves."""
