"""The checkpoint store (genai_course.checkpoint_io): shipped files are verified against MANIFEST.json,
every writer is atomic, every loader checks the kind, and every error names the file and its recipe."""

import json
import re
import shutil
from pathlib import Path

import pytest
import torch

import genai_course.checkpoint_io as cio
import genai_course.gpt.pretrained as gpt_pretrained
import genai_course.rlhf.pretrained as rlhf_pretrained
from genai_course.errors import CheckpointError, CheckpointMissing, CheckpointWriteError
from genai_course.recipes import RECIPES, shipped_files

SRC = Path(__file__).resolve().parents[1] / "src" / "genai_course"
SHIPPED = SRC / "checkpoints"


def test_manifest_lists_exactly_the_shipped_files_with_their_hashes_recipes_and_metrics():
    """If this fails after a shipped file was replaced on purpose: `genai-course recipe --manifest`."""
    files = json.loads((SHIPPED / "MANIFEST.json").read_text())["files"]
    assert sorted(files) == sorted(shipped_files())
    assert set(files) >= {p.name for p in SHIPPED.glob("*.pt")}
    readme = dict(re.findall(r"\| `(\w+\.(?:pt|json))` \| `([^`]+)` \|", (SHIPPED / "README.md").read_text()))
    for name, entry in files.items():
        data = (SHIPPED / name).read_bytes()
        assert entry["sha256"] == cio.sha256_of(data), f"{name}: `genai-course recipe --manifest` after replacing it"
        assert entry["bytes"] == len(data)
        assert entry["recipe"] in RECIPES and entry["command"] == f"genai-course recipe {entry['recipe']}"
        assert entry["command"] == readme[name]
        if name.endswith(".pt"):
            assert entry["metrics"] == json.loads((SHIPPED / name).with_suffix(".json").read_text())
    assert cio.check_manifest(out=lambda line: None) == 0


def test_every_shipped_file_is_made_by_a_recipe():
    made = {f for r in RECIPES.values() for f in r.files}
    on_disk = {p.name for p in SHIPPED.iterdir() if p.is_file()} - {"MANIFEST.json", "README.md"}
    assert on_disk == made


def test_shipped_files_are_small():
    """At most 5 MB per file and 40 MB in all (the wheel and a clone stay small)."""
    sizes = {p.name: p.stat().st_size for p in SHIPPED.iterdir() if p.is_file()}
    assert sum(sizes.values()) <= 40_000_000, sizes
    for name, size in sizes.items():
        assert size <= 5_000_000, name


def test_verify_bytes_refuses_a_changed_file(tmp_path):
    data = (SHIPPED / "digit_classifier.pt").read_bytes()
    expected = cio.sha256_of(data)
    cio.verify_bytes("x.pt", data, expected)
    flipped = bytearray(data)
    flipped[1000:1064] = bytes(b ^ 0xFF for b in flipped[1000:1064])
    with pytest.raises(CheckpointError, match="x.pt.*changed since it was shipped.*remake it with `cmd`"):
        cio.verify_bytes("x.pt", bytes(flipped), expected, "cmd")


@pytest.fixture
def shipped_copy(tmp_path, monkeypatch):
    """A copy of the shipped folder that every loader takes for the shipped one."""
    for p in SHIPPED.iterdir():
        shutil.copy(p, tmp_path / p.name)
    monkeypatch.setattr(cio, "SHIPPED_DIR", tmp_path)
    return tmp_path


@pytest.fixture
def empty_store(tmp_path, monkeypatch):
    """An empty shipped folder (its manifest lists nothing, so a file there is checked only by loading it)."""
    (tmp_path / "MANIFEST.json").write_text('{"files": {}}')
    monkeypatch.setattr(cio, "SHIPPED_DIR", tmp_path)
    return tmp_path


def _loaders():
    from genai_course.diffusion.train_checkpoints import load_digit_diffusion
    from genai_course.gan.checkpoint import load_model
    from genai_course.metrics.digit_classifier import load_digit_classifier

    yield "digit_classifier.pt", load_digit_classifier
    from genai_course.seq2seq import load_seq2seq_reverse

    yield "seq2seq_reverse.pt", load_seq2seq_reverse
    yield "diffusion_digits.pt", load_digit_diffusion
    for name in ("dcgan_digits", "cgan_digits", "dcgan_faces", "stylegan_faces", "face_attributes"):
        yield f"gan_{name}.pt", lambda name=name: load_model(name)
    yield "gpt_char_small.pt", gpt_pretrained.load_pretrained
    for name, load in (
        ("sft", rlhf_pretrained.load_sft),
        ("reward", rlhf_pretrained.load_reward_model),
        ("ppo", rlhf_pretrained.load_ppo),
        ("dpo", rlhf_pretrained.load_dpo),
    ):
        yield f"rlhf_{name}.pt", load
    from genai_course.codex.pretrained import load_code_model

    for name in ("codex_stdlib", "codex_sft"):
        yield f"{name}.pt", lambda name=name: load_code_model(name)
    from genai_course.latent.pretrained import load_autoencoder, load_text_to_image

    yield "latent_autoencoder.pt", load_autoencoder
    yield "latent_text_to_image.pt", load_text_to_image
    from genai_course.latent.customise import load_customised
    from genai_course.latent.pixel_baseline import load_pixel_text_to_image

    yield "pixel_text_to_image.pt", load_pixel_text_to_image
    yield "latent_customise.pt", lambda: load_customised("lora4")
    from genai_course.clip.pretrained import load_clip

    yield "clip_scenes.pt", load_clip
    from genai_course.dalle.pretrained import load_dalle, load_vqvae
    from genai_course.unclip.pretrained import load_decoder, load_prior

    yield "dalle_vqvae.pt", load_vqvae
    yield "dalle_transformer.pt", load_dalle
    yield "unclip_prior.pt", load_prior
    yield "unclip_decoder.pt", load_decoder


def test_every_shipped_file_has_a_loader_below():
    assert sorted(name for name, _ in _loaders()) == sorted(p.name for p in SHIPPED.glob("*.pt"))


@pytest.mark.parametrize("name,load", list(_loaders()), ids=[n for n, _ in _loaders()])
def test_every_loader_refuses_a_byte_flipped_shipped_file(shipped_copy, name, load):
    load()  # the intact copy loads (so the check below is the hash, not a broken set-up)
    path = shipped_copy / name
    data = bytearray(path.read_bytes())
    mid = len(data) // 2
    data[mid : mid + 64] = bytes(b ^ 0xFF for b in data[mid : mid + 64])
    path.write_bytes(bytes(data))
    command = json.loads((SHIPPED / "MANIFEST.json").read_text())["files"][name]["command"]
    with pytest.raises(CheckpointError, match="changed since it was shipped") as err:
        load()
    assert name in str(err.value) and command in str(err.value) and "\n" not in str(err.value)


def test_files_outside_the_shipped_folder_load_without_the_hash(tmp_path):
    state = {"w": torch.ones(2)}
    cio.save_state(tmp_path / "mine.pt", "fmt/1", {"a": 1}, state, {"m": 1})
    config, loaded = cio.load_state(tmp_path / "mine.pt", "fmt/1")
    assert config == {"a": 1} and torch.equal(loaded["w"], state["w"])
    assert "mine.pt" not in (SHIPPED / "MANIFEST.json").read_text()


def test_remaking_a_shipped_file_records_its_new_hash(shipped_copy):
    """The recipe commands write through save_state & co., which re-record the hash: the remade file loads."""
    config, state = cio.load_state(shipped_copy / "digit_classifier.pt", "genai_course.digit_classifier/1")
    state = {k: v + 1e-3 if v.is_floating_point() else v for k, v in state.items()}
    cio.save_state(shipped_copy / "digit_classifier.pt", "genai_course.digit_classifier/1", config, state)
    _, again = cio.load_state(shipped_copy / "digit_classifier.pt", "genai_course.digit_classifier/1")
    assert all(torch.equal(again[k], state[k]) for k in state)
    entry = json.loads((shipped_copy / "MANIFEST.json").read_text())["files"]["digit_classifier.pt"]
    assert entry["command"] == "genai-course recipe digit_classifier"
    assert entry["sha256"] == cio.sha256_of((shipped_copy / "digit_classifier.pt").read_bytes())


def test_missing_manifest_is_a_clear_error(shipped_copy):
    (shipped_copy / "MANIFEST.json").unlink()
    with pytest.raises(CheckpointError, match="MANIFEST.json is missing"):
        cio.load_state(shipped_copy / "digit_classifier.pt", "genai_course.digit_classifier/1")


def test_gan_loader_checks_the_kind(empty_store):
    from genai_course.gan.checkpoint import load_model

    tmp_path = empty_store
    shutil.copy(SHIPPED / "gan_stylegan_faces.pt", tmp_path / "gan_face_attributes.pt")
    with pytest.raises(CheckpointError, match="holds a 'stylegan' model, but 'face_attributes' is a 'attributes'"):
        load_model("face_attributes")
    shutil.copy(SHIPPED / "gan_cgan_digits.pt", tmp_path / "gan_dcgan_digits.pt")
    with pytest.raises(CheckpointError, match="n_classes=10.*wrong kind"):
        load_model("dcgan_digits")
    shutil.copy(SHIPPED / "gan_face_attributes.pt", tmp_path / "gan_stylegan_faces.pt")
    with pytest.raises(CheckpointError, match="wrong kind"):
        load_model("stylegan_faces")
    shutil.copy(SHIPPED / "gan_dcgan_digits.pt", tmp_path / "gan_mine.pt")
    with pytest.raises(ValueError, match="pass kind="):
        load_model("mine")
    assert load_model("mine", kind="dcgan").cfg.n_classes == 0


def test_other_loaders_check_the_format(empty_store):
    from genai_course.diffusion.train_checkpoints import load_digit_diffusion

    tmp_path = empty_store
    shutil.copy(SHIPPED / "digit_classifier.pt", tmp_path / "diffusion_digits.pt")
    with pytest.raises(CheckpointError, match="format"):
        load_digit_diffusion()
    shutil.copy(SHIPPED / "rlhf_dpo.pt", tmp_path / "rlhf_ppo.pt")
    with pytest.raises(CheckpointError, match="wrong kind: not a genai-course RLHF 'ppo' checkpoint"):
        rlhf_pretrained._load_state("ppo")


def test_malformed_config_and_nan_weights_are_clear_errors(empty_store):
    from genai_course.metrics.digit_classifier import FORMAT, load_digit_classifier

    tmp_path = empty_store
    config, state = cio.load_state(SHIPPED / "digit_classifier.pt", FORMAT)
    cio.save_state(tmp_path / "digit_classifier.pt", FORMAT, {**config, "colour": 3}, state)
    with pytest.raises(CheckpointError, match="malformed config"):
        load_digit_classifier()
    bad = dict(state)
    bad["head.weight"] = torch.full_like(bad["head.weight"], float("nan"))
    cio.save_state(tmp_path / "digit_classifier.pt", FORMAT, config, bad)
    with pytest.raises(CheckpointError, match="NaN or infinite"):
        load_digit_classifier()


@pytest.mark.parametrize("interrupt", [False, True])
def test_a_failed_write_keeps_the_old_files_and_leaves_no_tmp(tmp_path, monkeypatch, interrupt):
    path = tmp_path / "m.pt"
    cio.save_state(path, "fmt/1", {}, {"w": torch.zeros(1)}, {"score": 1})
    before_pt, before_json = path.read_bytes(), path.with_suffix(".json").read_text()

    def fail(obj, f):
        f.write(b"half a checkpoint")
        raise KeyboardInterrupt if interrupt else RuntimeError("file write failed\nsecond line")

    monkeypatch.setattr(torch, "save", fail)
    with pytest.raises(KeyboardInterrupt if interrupt else CheckpointWriteError) as err:
        cio.save_state(path, "fmt/1", {}, {"w": torch.ones(1)}, {"score": 2})
    if not interrupt:
        assert "m.pt" in str(err.value) and "\n" not in str(err.value)
        assert isinstance(err.value, OSError)
    assert path.read_bytes() == before_pt and path.with_suffix(".json").read_text() == before_json
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json", "m.pt"]


def test_atomic_write_keeps_the_usual_permissions(tmp_path):
    import os
    import stat

    cio.write_text(tmp_path / "a.json", "{}")
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE((tmp_path / "a.json").stat().st_mode) == 0o666 & ~mask


def test_no_writer_bypasses_the_atomic_helper():
    """Every checkpoint write goes through checkpoint_io (torch.save straight to a path can leave a corrupt file)."""
    offenders = []
    for path in SRC.rglob("*.py"):
        if path.name == "checkpoint_io.py":
            continue
        for i, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"(?<!`)torch\.save\(", line) and "buffer" not in line:  # not in ``docs``
                offenders.append(f"{path.relative_to(SRC)}:{i}")
    assert not offenders, offenders


# ------------------------------------------------------------------------------ one message for every problem


@pytest.mark.parametrize("name,load", list(_loaders()), ids=[n for n, _ in _loaders()])
def test_every_loader_names_the_missing_file_and_its_recipe(shipped_copy, name, load):
    (shipped_copy / name).unlink()
    with pytest.raises(CheckpointMissing) as err:
        load()
    message = str(err.value)
    assert name in message and "does not exist" in message and "\n" not in message
    assert f"`genai-course recipe {Path(name).stem}`" in message
    assert isinstance(err.value, FileNotFoundError) and isinstance(err.value, ValueError)


def test_truncated_file_says_truncated_and_the_recipe(empty_store):
    from genai_course.metrics.digit_classifier import load_digit_classifier

    tmp_path = empty_store  # no manifest entry: the truncation itself is found
    (tmp_path / "digit_classifier.pt").write_bytes((SHIPPED / "digit_classifier.pt").read_bytes()[:5000])
    with pytest.raises(CheckpointError, match=r"digit_classifier.pt is truncated or corrupt") as err:
        load_digit_classifier()
    assert "`genai-course recipe digit_classifier`" in str(err.value)


def test_a_tampered_shipped_file_names_its_recipe(shipped_copy):
    from genai_course.diffusion.train_checkpoints import load_digit_diffusion

    path = shipped_copy / "diffusion_digits.pt"
    path.write_bytes(path.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(CheckpointError, match="changed since it was shipped.*`genai-course recipe diffusion_digits`"):
        load_digit_diffusion()


def test_wrong_kind_names_the_file_and_the_recipe(shipped_copy):
    from genai_course.metrics.digit_classifier import FORMAT

    with pytest.raises(CheckpointError, match="wrong kind.*`genai-course recipe gan_dcgan_digits`"):
        cio.load_state(shipped_copy / "gan_dcgan_digits.pt", FORMAT)


def test_manifest_is_rewritten_from_the_files_on_disk(shipped_copy):
    """What another engineer does after replacing a shipped file (here: its metrics)."""
    from genai_course.recipes import write_manifest

    path = shipped_copy / "diffusion_digits.json"
    metrics = {**json.loads(path.read_text()), "final_loss": 0.5}
    path.write_text(json.dumps(metrics))
    assert cio.check_manifest(out=lambda line: None) == 1
    write_manifest()
    files = json.loads((shipped_copy / "MANIFEST.json").read_text())["files"]
    assert files["diffusion_digits.pt"]["metrics"] == metrics
    assert cio.check_manifest(out=lambda line: None) == 0


def test_shipped_checkpoints_record_their_model_configuration():
    """Every checkpoint carries the configuration that rebuilds its model (the RLHF ones take
    gpt_char_small's, whose file records it)."""
    for path in sorted(SHIPPED.glob("*.pt")):
        blob = torch.load(path, map_location="cpu", weights_only=True)
        if path.name.startswith("rlhf_"):
            assert blob["format"] == rlhf_pretrained.FORMAT and blob["state"], path.name
        else:
            assert isinstance(blob.get("config") or blob.get("model_config"), dict), path.name


def test_a_record_round_trips_with_who_made_it(tmp_path):
    import torch

    from genai_course.checkpoint_io import read_record, write_record

    path = tmp_path / "table.json"
    written = write_record(path, "genai-course recipe table", seeds=[0, 1], rows={"a": 1.5})
    assert written == read_record(path, "genai-course recipe table")
    assert list(written)[:3] == ["made_by", "torch", "threads"]
    assert written["torch"] == torch.__version__ and written["threads"] == torch.get_num_threads()
