"""Check a submitted notebook: run it and collect every exercise check's verdict."""
from __future__ import annotations

from pathlib import Path

from ..exercises.checks import FAIL, PASS


def check_results(nb) -> list[tuple[int, bool, str]]:
    """(cell index, passed, message) for every check output (✅ / ❌) in an executed notebook."""
    results = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        for out in cell.get("outputs", []):
            text = out.get("text") or out.get("data", {}).get("text/plain", "")
            text = "".join(text) if isinstance(text, list) else text
            for line in text.splitlines():
                if line.startswith(PASS) or line.startswith(FAIL):
                    results.append((i, line.startswith(PASS), line[len(PASS):].strip()))
            if out.get("output_type") == "error" and not any(r[0] == i for r in results):
                results.append((i, False, f"the cell raised {out.get('ename')}: {out.get('evalue')}"))
    return results


def check_submission(path: Path, timeout: int = 900) -> list[tuple[int, bool, str]]:
    from .execute import execute_notebook

    nb, _ = execute_notebook(Path(path), timeout=timeout, allow_errors=True)
    return check_results(nb)
