"""The notebooks run from an installed wheel outside the repository, as they do in Colab."""

import os
import site
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "01_transformers" / "01_attention.ipynb"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out), str(ROOT)],
        check=True,
        capture_output=True,
    )
    [whl] = out.glob("genai_course-*.whl")
    return whl


def test_wheel_ships_the_package_and_its_checkpoints(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert "genai_course/nn/attention.py" in names
    shipped = sorted(p.name for p in (ROOT / "src" / "genai_course" / "checkpoints").iterdir() if p.is_file())
    for name in shipped:
        assert f"genai_course/checkpoints/{name}" in names, f"{name} is missing from the wheel"
    assert any(n.endswith("entry_points.txt") for n in names)


@pytest.mark.slow
def test_notebook_runs_from_installed_wheel_outside_the_repo(wheel, tmp_path):
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    # Third-party dependencies come from the test environment (a path entry, so its editable
    # install of this repository is not activated); the package itself only from the wheel.
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    deps = [p for p in site.getsitepackages() if p.endswith("site-packages")]
    Path(purelib, "test-deps.pth").write_text("\n".join(deps) + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", purelib, str(wheel)],
        check=True,
        capture_output=True,
    )

    work = tmp_path / "colab"
    work.mkdir()
    (work / NOTEBOOK.name).write_bytes(NOTEBOOK.read_bytes())
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["GENAI_COURSE_PROGRESS"] = "0"
    script = (
        "import genai_course, nbformat, sys\n"
        "from nbclient import NotebookClient\n"
        f"assert genai_course.__file__.startswith({str(purelib)!r}), genai_course.__file__\n"
        f"nb = nbformat.read({NOTEBOOK.name!r}, as_version=4)\n"
        "NotebookClient(nb, timeout=300, kernel_name='python3', resources={'metadata': {'path': '.'}}).execute()\n"
        "import genai_course.exercises.transformers as t; print('ran from', genai_course.__file__)\n"
    )
    result = subprocess.run([str(python), "-c", script], cwd=work, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert str(ROOT) not in result.stdout
