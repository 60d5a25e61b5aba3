"""The on-screen keyboard: a text box tapped on the touchscreen brings it up; tapping
letters spells pinyin, a tapped candidate puts Chinese into the box (the report's
description reaches the flow as typing does), the 123 page gives digits and 号/单元,
完成 puts it away, the session's end drops what was being spelled. Screenshots of it
in both languages and elderly mode go to the test's artifacts."""
from __future__ import annotations

from PySide6.QtWidgets import QLineEdit, QPushButton

from kiosk.screenshots import DEMO_RESIDENT
from kiosk.session import EndReason
from kiosk.widgets.pinyin import Pinyin
from tests.kiosk.conftest import finger, wait_screen
from tests.kiosk.journeys import visible


def test_pinyin_gives_the_common_words_first():
    words = Pinyin.load()
    assert words.candidates("ludeng")[0] == "路灯"
    assert words.candidates("yanglao")[0] == "养老"
    assert words.candidates("danyuan")[0] == "单元"
    assert "居住证" in words.candidates("jzz")[:3]  # initials
    assert words.candidates("shi")[0] == "是"
    assert "路灯" in words.candidates("lud")[:3]  # a syllable still being typed
    assert words.consumed("ludeng", "路") == 2 and words.consumed("ludeng", "路灯") == 6
    assert words.candidates("") == [] and words.candidates("xqzv") == []


def tap_box(qtbot, box: QLineEdit) -> None:
    finger(qtbot, box)


def spell(tap, app, letters: str) -> None:
    for letter in letters:
        tap(app, f"kb-{letter}")


def pick(tap, app, qtbot, text: str) -> None:
    qtbot.waitUntil(lambda: any(b.text() == text for b in app.keyboard.slots if b.isVisible()), timeout=3000)
    index = next(i for i, b in enumerate(app.keyboard.slots) if b.isVisible() and b.text() == text)
    tap(app, f"kb-candidate-{index}")


def to_description(app, tap, qtbot):
    app.session.identify(DEMO_RESIDENT)
    app.go("report")
    tap(app, "report-category-street_lamp", timeout=10)
    tap(app, "report-place-gate-north")
    tap(app, "report-next")
    qtbot.waitUntil(lambda: visible(app, QLineEdit, "report-text") is not None)
    return visible(app, QLineEdit, "report-text")


def test_tapping_keys_puts_chinese_into_the_report_description(kiosk_app, tap, qtbot, artifacts):
    app = kiosk_app
    box = to_description(app, tap, qtbot)
    assert not app.keyboard.isVisible()
    tap_box(qtbot, box)
    qtbot.waitUntil(app.keyboard.isVisible, timeout=3000)
    assert app.keyboard.target is box
    spell(tap, app, "ludeng")
    assert box.hasFocus() and app.keyboard.letters == "ludeng"
    app.grab().save(str(artifacts / "keyboard-pinyin-zh.png"))
    pick(tap, app, qtbot, "路灯")
    spell(tap, app, "buliang")  # no such word: a character at a time
    pick(tap, app, qtbot, "不")
    assert app.keyboard.letters == "liang" and box.text() == "路灯不"
    pick(tap, app, qtbot, "亮")
    assert box.text() == "路灯不亮"
    flow = app.session.scratch["report"]
    assert flow.text == "路灯不亮"  # reached the flow as typing does (textEdited)
    assert "路灯不亮" in visible(app, type(app.header.clock), "report-preview").text()

    tap(app, "kb-mode-123")
    tap(app, "kb-3")
    tap(app, "kb-单元")
    assert box.text() == "路灯不亮3单元"
    tap(app, "kb-back")
    tap(app, "kb-back")
    assert box.text() == "路灯不亮3"
    tap(app, "kb-mode-abc")
    spell(tap, app, "ok")
    assert box.text() == "路灯不亮3ok" and app.keyboard.letters == ""
    tap(app, "kb-done")
    assert not app.keyboard.isVisible()
    assert visible(app, QPushButton, "report-submit").isEnabled()

    tap_box(qtbot, box)  # tapped again: it comes back
    qtbot.waitUntil(app.keyboard.isVisible, timeout=3000)
    tap(app, "kb-mode-zh")
    spell(tap, app, "hen")
    app.end_session(EndReason.HOME)  # mid-spelling: nothing of it is left
    assert not app.keyboard.isVisible() and app.keyboard.letters == "" and app.keyboard.candidates == []


def test_the_guide_search_is_typed_on_the_screen(kiosk_app, tap, qtbot):
    app = kiosk_app
    tap(app, "tile-guide")
    wait_screen(qtbot, app, "guide")
    qtbot.waitUntil(lambda: visible(app, QLineEdit, "guide-search") is not None, timeout=10000)
    box = visible(app, QLineEdit, "guide-search")
    tap_box(qtbot, box)
    qtbot.waitUntil(app.keyboard.isVisible, timeout=3000)
    spell(tap, app, "yanglao")
    tap(app, "kb-space")  # the first candidate
    assert box.text() == "养老"
    screen = app.navigator.screens["guide"]
    assert screen.flow.query == "养老"
    tap(app, "guide-clear")  # another button took the focus: the keyboard goes
    assert not app.keyboard.isVisible()


def test_the_keyboard_in_english_and_elderly_mode(kiosk_app, tap, qtbot, artifacts):
    app = kiosk_app
    tap(app, "header-elderly")
    tap(app, "header-language")
    box = to_description(app, tap, qtbot)
    tap_box(qtbot, box)
    qtbot.waitUntil(app.keyboard.isVisible, timeout=3000)
    touch = app.theme.mm(15)
    keys = [b for b in app.keyboard.findChildren(QPushButton) if b.isVisible()]
    assert len(keys) > 30
    for key in keys:
        assert min(key.width(), key.height()) >= touch, (key.objectName(), key.size())
    assert app.keyboard.geometry().bottom() <= app.centralWidget().height()
    assert visible(app, QPushButton, "kb-done").text() == "Done"
    spell(tap, app, "jzz")
    app.grab().save(str(artifacts / "keyboard-pinyin-en-elderly.png"))
    pick(tap, app, qtbot, "居住证")
    assert box.text() == "居住证"


def test_every_page_of_the_keyboard_is_on_the_screen_after_every_switch(kiosk_app, tap, qtbot):
    """Each page's keys lie inside the window after the page, the language or elderly
    mode is switched while the keyboard is up (a page rebuilt on the shown panel was
    once measured before its keys were shown: a 22-pixel strip, its keys below the
    screen, where no finger reaches them)."""
    app = kiosk_app
    box = to_description(app, tap, qtbot)
    tap_box(qtbot, box)
    qtbot.waitUntil(app.keyboard.isVisible, timeout=3000)
    window = app.rect()

    def keys_on_screen(page: str) -> None:
        qtbot.wait(30)
        keys = [key for key in app.keyboard.findChildren(QPushButton) if key.isVisible()]
        assert len(keys) > 20, page
        for key in keys:
            corner = key.mapTo(app, key.rect().bottomRight())
            assert window.contains(corner), (page, key.objectName(), corner, app.keyboard.geometry())

    keys_on_screen("pinyin")
    for mode in ("123", "abc", "zh"):
        tap(app, f"kb-mode-{mode}")
        keys_on_screen(mode)
    app.set_elderly(True)  # the screen is built again: its new box is tapped
    qtbot.waitUntil(lambda: visible(app, QLineEdit, "report-text") is not None)
    tap_box(qtbot, visible(app, QLineEdit, "report-text"))
    qtbot.waitUntil(app.keyboard.isVisible, timeout=3000)
    keys_on_screen("elderly")
    tap(app, "kb-mode-123")
    keys_on_screen("elderly 123")
    app.keyboard.restyle(app.theme)  # as the language switch does, the keyboard up
    keys_on_screen("restyled")


def test_the_arrows_page_through_the_candidates_and_are_gone_without_another_page(kiosk_app, tap, qtbot):
    app = kiosk_app
    box = to_description(app, tap, qtbot)
    tap_box(qtbot, box)
    qtbot.waitUntil(app.keyboard.isVisible, timeout=3000)
    height = app.keyboard.height()
    assert visible(app, QPushButton, "kb-next") is None  # nothing spelled
    spell(tap, app, "shi")
    qtbot.waitUntil(lambda: len(app.keyboard.candidates) > 9, timeout=3000)
    first_page = [slot.text() for slot in app.keyboard.slots if slot.isVisible()]
    assert not visible(app, QPushButton, "kb-prev").isEnabled()
    tap(app, "kb-next")
    second_page = [slot.text() for slot in app.keyboard.slots if slot.isVisible()]
    assert second_page and set(second_page).isdisjoint(first_page)
    tap(app, "kb-prev")
    assert [slot.text() for slot in app.keyboard.slots if slot.isVisible()] == first_page
    assert app.keyboard.height() == height  # the arrows came and went; the keys stayed where they were
    tap(app, "kb-mode-123")
    assert visible(app, QPushButton, "kb-next") is None
