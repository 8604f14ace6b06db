import pytest

from genai_course.data.corpus import load_course_text, load_text_file, train_val_split


def test_course_text_is_sorted_topics_joined_by_blank_lines():
    from pydoc_data.topics import topics

    text = load_course_text()
    first, second = sorted(topics)[:2]
    assert text.startswith(topics[first] + "\n\n" + topics[second])
    assert len(text) == sum(map(len, topics.values())) + 2 * (len(topics) - 1)


def test_split_is_last_ten_percent():
    train, val = train_val_split("abcdefghij" * 10)
    assert len(train) == 90 and len(val) == 10 and train + val == "abcdefghij" * 10
    with pytest.raises(ValueError, match="val_fraction"):
        train_val_split("abc", 1.5)


def test_load_text_file_errors(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        load_text_file(tmp_path / "missing.txt")
    (tmp_path / "empty.txt").write_bytes(b"")
    with pytest.raises(ValueError, match="empty"):
        load_text_file(tmp_path / "empty.txt")
    (tmp_path / "latin1.txt").write_bytes("café".encode("latin-1"))
    with pytest.raises(ValueError, match="not UTF-8.*0xe9"):
        load_text_file(tmp_path / "latin1.txt")
    (tmp_path / "ok.txt").write_text("héllo 🙂", encoding="utf-8")
    assert load_text_file(tmp_path / "ok.txt") == "héllo 🙂"
