"""pipelines.text: plain text split into paragraphs."""

from __future__ import annotations

from pipelines.text import split_paragraphs


def test_blank_lines_separate_paragraphs_and_wrapped_lines_are_joined():
    assert split_paragraphs("One line\nwrapped here.\n\nSecond  one.\n") == ["One line wrapped here.", "Second one."]


def test_without_blank_lines_every_line_is_a_paragraph():
    assert split_paragraphs("First.\nSecond.\n\n") == ["First.", "Second."]


def test_list_items_in_a_block_stay_separate_paragraphs():
    assert split_paragraphs("Intro:\n- one item\n- two items\n\nAfter.") == ["Intro:", "- one item", "- two items", "After."]
