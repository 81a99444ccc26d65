"""The Qt-free state of what is open: datasets, map documents and cuts, XES items, view settings.

Everything here runs without a QApplication (tests build and change it directly); the GUI shows it
through Qt models and views that listen to plain callbacks (:class:`~xestools.workspace.events.Event`).
"""
from xestools.workspace.cuts import CUT_KINDS, MAX_CUTS, CutEntry, CutModel
from xestools.workspace.datasets import Dataset, LoadOutcome, load_files
from xestools.workspace.documents import MapDocument
from xestools.workspace.events import Event
from xestools.workspace.items import ItemKind, XesItem, XesItemList
from xestools.workspace.maps import MapWorkspace
from xestools.workspace.views import XesPlotSettings, XesSettings, XesToolSettings
from xestools.workspace.workspace import RestoreReport, Workspace
from xestools.workspace.xes import XesWorkspace

__all__ = ["CUT_KINDS", "MAX_CUTS", "CutEntry", "CutModel", "Dataset", "LoadOutcome", "load_files", "MapDocument",
           "Event", "ItemKind", "XesItem", "XesItemList", "MapWorkspace", "XesPlotSettings", "XesSettings",
           "XesToolSettings", "RestoreReport", "Workspace", "XesWorkspace"]
