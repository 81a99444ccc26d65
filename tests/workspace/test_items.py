"""The XES items as a plain list with callbacks (no Qt): derived items, recompute, staleness."""
from __future__ import annotations

import numpy as np
import pytest

from xestools.model import Channel, ScanInfo, Spectrum
from xestools.workspace.items import ItemKind, XesItemList, recompute, recompute_dependants


def spectrum(offset=0.0, channel=Channel.LOWER, start=9620.0, label="s"):
    x = np.arange(start, start + 10.0, 0.5)
    return Spectrum(x, 1.0 + offset + 0.1 * (x - start), np.full(x.size, 0.01), channel=channel, label=label,
                    info=ScanInfo(scan_number=123, sample_name="ZnO"))


@pytest.fixture
def model():
    return XesItemList()


def test_callbacks_announce_each_change_before_and_after(model):
    calls = []
    for name in ("about_to_insert", "inserted", "about_to_remove", "removed", "about_to_move", "moved",
                 "about_to_reset", "reset", "item_changed"):
        getattr(model, name).connect(lambda *args, n=name: calls.append((n, *args)))
    a = model.add_item(ItemKind.SCAN, spectrum(), name="a")
    b = model.add_item(ItemKind.SCAN, spectrum(1.0), name="b")
    model.move(b.uid, -1)
    model.set_visible(a.uid, False)
    model.set_visible(a.uid, False)   # no change, no callback
    model.remove_uids([a.uid])
    model.clear()
    assert calls == [("about_to_insert", 0), ("inserted", 0), ("about_to_insert", 1), ("inserted", 1),
                     ("about_to_move", 1, 0), ("moved",), ("item_changed", a.uid),
                     ("about_to_remove", 1), ("removed", 1), ("about_to_reset",), ("reset",)]
    assert len(model) == 0


def test_derived_items_recompute_and_turn_stale(model):
    a = model.add_item(ItemKind.SCAN, spectrum(0.0), name="a")
    b = model.add_item(ItemKind.SCAN, spectrum(2.0), name="b")
    average = model.add_item(ItemKind.AVERAGE, spectrum(1.0), name="avg", inputs=[a.uid, b.uid],
                             params={"grid": "overlap", "weighted": False})
    difference = model.add_item(ItemKind.DIFFERENCE, spectrum(0.0), name="a − avg", inputs=[a.uid, average.uid])
    assert [item.uid for item in model.dependants(a.uid)] == [average.uid, difference.uid]
    assert recompute(model, average.uid)
    np.testing.assert_allclose(average.spectrum.intensity, 2.0 + 0.1 * (average.spectrum.energy - 9620.0))
    assert recompute_dependants(model, average.uid) == []
    np.testing.assert_allclose(model.item(difference.uid).spectrum.intensity, -1.0, atol=1e-12)
    model.remove_uids([b.uid])
    assert model.item(average.uid).stale and "removed" in model.item(average.uid).stale_reason
    assert not recompute(model, average.uid)  # input gone: the last result is kept
    assert model.item(average.uid).spectrum is average.spectrum


def test_channel_switch_marks_dependants_stale(model):
    upper, lower = spectrum(0.0, Channel.UPPER, 8630.0), spectrum(5.0, Channel.LOWER, 9560.0)
    scan = model.add_item(ItemKind.SCAN, upper, name="two", channels={Channel.UPPER: upper, Channel.LOWER: lower})
    normalised = model.add_item(ItemKind.NORMALISED, upper, name="n", inputs=[scan.uid], params={"window": [8631.0, 8635.0]})
    assert scan.switchable_channels == [Channel.UPPER, Channel.LOWER]
    affected = model.set_channel(scan.uid, Channel.LOWER)
    assert [item.uid for item in affected] == [normalised.uid]
    assert scan.spectrum is lower and normalised.stale and "lower" in normalised.stale_reason
    assert not recompute(model, normalised.uid)  # window outside the lower channel: stays stale
    assert normalised.stale and "recompute failed" in normalised.stale_reason
    model.set_channel(scan.uid, Channel.UPPER)
    assert recompute(model, normalised.uid) and not normalised.stale
    with pytest.raises(ValueError):
        model.set_channel(normalised.uid, Channel.UPPER)
    single = model.add_item(ItemKind.SCAN, upper, name="one")
    with pytest.raises(ValueError, match="no lower channel"):
        model.set_channel(single.uid, Channel.LOWER)


def test_batch_announces_added_items_once_as_a_reset():
    """A restored session adds many items: a list view hears one reset, not one insertion per row."""
    import numpy as np

    from xestools.model import Channel, Spectrum
    from xestools.workspace.items import ItemKind, XesItemList

    items = XesItemList()
    heard = []
    for name in ("about_to_insert", "inserted", "about_to_reset", "reset", "structure_changed"):
        getattr(items, name).connect(lambda *args, name=name: heard.append(name))
    spectrum = Spectrum(np.arange(3.0), np.ones(3), channel=Channel.UPPER, source="s")
    with items.batch():
        first = items.add_item(ItemKind.SCAN, spectrum, name="a")
        second = items.add_item(ItemKind.SCAN, spectrum, name="b")
        items.reorder([second.uid, first.uid])
        assert heard == []
    assert heard == ["about_to_reset", "reset", "structure_changed"]
    assert [item.name for item in items.items] == ["b", "a"]
    items.add_item(ItemKind.SCAN, spectrum, name="c")
    assert heard[3:] == ["about_to_insert", "inserted", "structure_changed"]
