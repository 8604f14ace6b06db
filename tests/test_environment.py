"""environment.yml (conda / Binder) lists exactly the dependencies of pyproject.toml."""

import re
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[1]


def _normalize(requirement: str) -> str:
    return re.sub(r"\s+", "", requirement).lower().replace("_", "-")


def pyproject_requirements() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        reqs += [r for r in extra if not r.startswith("genai-course")]  # skip self-references like genai-course[book]
    return {_normalize(r) for r in reqs}


def environment_requirements() -> set[str]:
    lines = (ROOT / "environment.yml").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if re.match(r"\s*- pip:\s*$", line))
    reqs = []
    for line in lines[start + 1 :]:
        m = re.match(r"\s+- (.+?)\s*(#.*)?$", line)
        if m and not m.group(1).startswith("-e"):
            reqs.append(m.group(1))
    return {_normalize(r) for r in reqs}


def test_environment_yml_matches_pyproject():
    ours, theirs = pyproject_requirements(), environment_requirements()
    assert ours == theirs, (
        f"only in pyproject.toml: {sorted(ours - theirs)}; only in environment.yml: {sorted(theirs - ours)}"
    )


def test_python_versions_agree():
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    env_python = re.search(r"- python=(\d+\.\d+)", (ROOT / "environment.yml").read_text()).group(1)
    assert requires == ">=3.10" and tuple(map(int, env_python.split("."))) >= (3, 10)


# Versions Colab ships that the course must not force an upgrade of: upgrading ipywidgets to 8
# there breaks widget and tqdm display (Colab's front end speaks the version 7 protocol).
COLAB_PINNED = {"ipywidgets": "7.7.1"}


def test_runtime_requirements_accept_what_colab_ships():
    from packaging.requirements import Requirement

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for req in map(Requirement, project["dependencies"]):
        if req.name in COLAB_PINNED:
            assert req.specifier.contains(COLAB_PINNED[req.name]), f"{req} would upgrade Colab's {req.name}"
