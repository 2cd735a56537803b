"""Which generation to serve: following CURRENT, falling back to the previous good one, live reload.

The policy lives here and nowhere else. CURRENT may point at a damaged
generation, hold garbage, or be missing: each time the newest complete
generation that opens cleanly is served, with a warning that says how to
repair. A `Current` object follows updates written by `qa index` while a
process serves, and drops a generation whose background checksum check failed.
"""

from __future__ import annotations

import threading
import warnings
from pathlib import Path

from .errors import IndexCorrupt, IndexNotFound
from .generation import CURRENT, Generation, generations, is_generation_name, number, open_generation


def current_name(root: Path) -> str | None:
    """The generation CURRENT names, when it names one in the right form; else None."""
    try:
        raw = (Path(root) / CURRENT).read_bytes()[:256]
    except OSError:
        return None
    name = raw.decode("utf-8", "replace").strip()
    return name if is_generation_name(name) else None


def pointer_problem(root: Path) -> str | None:
    """What is wrong with CURRENT itself (missing, garbage, naming a missing folder), or None."""
    path = Path(root) / CURRENT
    if not path.exists():
        return f"{path} is missing"
    name = current_name(root)
    if name is None:
        return f"{path} does not name a generation"
    if not (Path(root) / name).is_dir():
        return f"{path} names {name}, which does not exist"
    return None


def load(root: Path, skip: frozenset[str] = frozenset()) -> Generation:
    """The generation to serve, checked; an older good one, with a warning, when CURRENT's is not.

    `skip` names generations already found damaged (by a background check).
    """
    root = Path(root)
    gens = generations(root)
    name = current_name(root)
    if not gens:
        if (root / CURRENT).exists():
            raise IndexCorrupt(f"{root / CURRENT} exists but no generation does. Rebuild with: qa index --full --index {root}")
        raise IndexNotFound(f"No index in {root}. Build it from a folder of documents with: "
                            f"qa index --documents FOLDER --index {root}")
    problems: list[str] = []
    order: list[Path] = []
    if name is None:
        if (root / CURRENT).exists():
            problems.append(pointer_problem(root) or f"{root / CURRENT} cannot be read")
    elif name in skip:
        problems.append(f"{name} was found damaged")
    elif not (root / name).is_dir():
        problems.append(pointer_problem(root) or f"{name} is missing")
    else:
        order.append(root / name)
    order += [g for g in gens if g.name not in skip and (name is None or number(g.name) < number(name))]
    for path in order:
        try:
            gen = open_generation(path)
        except IndexCorrupt as exc:
            problems.append(str(exc))
            continue
        if problems:
            warnings.warn(
                f"The current index generation is damaged ({problems[0]}); serving the earlier generation "
                f"{gen.name}. Run `qa index --index {root}` to repair it.",
                stacklevel=2,
            )
        return gen
    raise IndexCorrupt(
        f"No usable index generation in {root}: {'; '.join(problems) or 'none found'}. "
        f"Rebuild it with: qa index --full --index {root}"
    )


def load_quietly(root: Path) -> Generation | None:
    """The generation to build on, or None when there is none usable (no warnings)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return load(root)
        except (IndexNotFound, IndexCorrupt):
            return None


class Current:
    """The generation a long-running process serves, kept up to date.

    `get()` reads CURRENT (one small file) and switches when `qa index` has
    committed a new generation; work already running keeps the generation it
    started with. A generation whose background checksum check failed is
    dropped for the previous good one, with a warning.
    """

    def __init__(self, root: Path):
        self.root = Path(root)
        # What CURRENT said when we last loaded; a damaged generation it points
        # at is not retried on every question, only when CURRENT changes.
        self._pointer = current_name(self.root)
        self._damaged: set[str] = set()
        self._gen = load(self.root)
        self._lock = threading.Lock()

    @property
    def held(self) -> Generation:
        """The generation last handed out, without looking for updates or damage."""
        return self._gen

    def get(self) -> Generation:
        name = current_name(self.root)
        if name is not None and name != self._pointer:
            with self._lock:
                if name != self._pointer:
                    self._gen = load(self.root, frozenset(self._damaged))
                    self._pointer = name
        if self._gen.damage is not None:
            with self._lock:
                gen = self._gen
                if gen.damage is not None:
                    self._damaged.add(gen.name)
                    with warnings.catch_warnings():  # said once, below, with the damage found
                        warnings.simplefilter("ignore")
                        self._gen = load(self.root, frozenset(self._damaged))
                    warnings.warn(
                        f"The index generation {gen.name} is damaged ({gen.damage}); serving {self._gen.name}. "
                        f"Run `qa index --index {self.root}` to repair it.",
                        stacklevel=2,
                    )
        return self._gen
