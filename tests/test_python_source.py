"""The standard library as a corpus: found on every install, split by module, deterministic."""

import pytest

from genai_course.data.python_source import is_heldout, load_stdlib_code, stdlib_dir, stdlib_files


def test_train_and_heldout_are_disjoint_whole_modules():
    train, heldout = stdlib_files("train"), stdlib_files("heldout")
    assert len(train) > 200 and 5 <= len(heldout) <= 0.1 * len(train)
    assert not set(train) & set(heldout)
    assert set(train) | set(heldout) == set(stdlib_files("all"))
    root = stdlib_dir()
    assert all(is_heldout(p.relative_to(root).as_posix()) for p in heldout)
    assert not any("test" in p.relative_to(root).parts[:-1] for p in train)


def test_the_split_depends_only_on_the_path():
    assert is_heldout("json/encoder.py") == is_heldout("json\\encoder.py")
    assert [is_heldout(f"m{i}.py") for i in range(50)] == [is_heldout(f"m{i}.py") for i in range(50)]
    assert 0 < sum(is_heldout(f"pkg/m{i}.py") for i in range(2000)) < 200  # ~1 in 20


def test_loaded_text_is_normalised_and_capped(tmp_path):
    (tmp_path / "a.py").write_text("def f():\n\treturn 1   \n")
    (tmp_path / "b.py").write_text("x = 2\n" * 100)
    (tmp_path / "bad.py").write_bytes(b"s = '\xe9'\n")  # Latin-1: skipped, not a crash
    text = load_stdlib_code("all", root=tmp_path)
    assert text.startswith("def f():\n    return 1\n\n\n\n")
    assert load_stdlib_code("all", max_chars=30, root=tmp_path) == "def f():\n    return 1\n"
    with pytest.raises(ValueError, match="split"):
        stdlib_files("validation")
    with pytest.raises(ValueError, match="does not exist"):
        load_stdlib_code("all", root=tmp_path / "missing")
