"""Read what Yosys wrote: `stat -json` (cell counts per module and for the whole
hierarchy) and the ASIC flow's memory list (`write_json` of every `$mem_v2` and SRAM bank,
with the names `select -list` gave for the ones made macros)."""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from hwgen.errors import HwgenError

MemoryKind = Literal["macro", "flops", "rom"]


@dataclass(frozen=True)
class Memory:
    """One memory of the flattened design, as Yosys inferred it (or one SRAM bank)."""

    name: str  # Yosys cell name, e.g. "u_e0.u_gbi.mem"
    kind: MemoryKind  # macro: SRAM macro area; flops: memory_map'd to FFs; rom: logic
    width_bits: int
    depth_words: int
    read_ports: int
    write_ports: int
    sync_read: bool  # every read port clocked

    @property
    def bits(self) -> int:
        return self.width_bits * self.depth_words


@dataclass(frozen=True)
class Stat:
    """`stat -json`: cells by type for the whole hierarchy and per module."""

    creator: str  # the Yosys version line
    design: dict[str, int]  # cell type -> count, submodules expanded
    modules: dict[str, dict[str, int]]  # module name (no leading backslash) -> its own cells

    def instances(self, top: str) -> dict[str, int]:
        """How many times each module occurs in the hierarchy under `top`."""
        count: Counter[str] = Counter({top: 1})
        order, i = [top], 0
        while i < len(order):
            mod = order[i]
            i += 1
            for typ, n in self.modules.get(mod, {}).items():
                if typ in self.modules:
                    if typ not in count:
                        order.append(typ)
                    count[typ] += count[mod] * n
        return dict(count)


def load_json(path: Path, what: str) -> dict:
    """A JSON file Yosys wrote; HwgenError naming it if it is missing or malformed."""
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise HwgenError(f"{path}: Yosys did not write the {what}") from None
    except json.JSONDecodeError as e:
        raise HwgenError(f"{path}: malformed {what}: {e}") from None


def _name(key: str) -> str:
    return key.removeprefix("\\")


def parse_stat(doc: dict, where: str = "stat -json") -> Stat:
    """The cell counts of a `stat -json` document."""
    try:
        modules = {_name(k): {_name(t): int(n) for t, n in v["num_cells_by_type"].items()}
                   for k, v in doc["modules"].items()}
        design = doc.get("design", {}).get("num_cells_by_type")
    except (KeyError, TypeError, AttributeError, ValueError) as e:
        raise HwgenError(f"{where}: not a Yosys `stat -json` document ({e})") from None
    if design is None:  # one module: Yosys prints no hierarchy section
        if len(modules) != 1:
            raise HwgenError(f"{where}: no 'design' section and {len(modules)} modules")
        totals = next(iter(modules.values()))
    else:  # without the submodule instances themselves: their cells are counted
        totals = {_name(t): int(n) for t, n in design.items() if _name(t) not in modules}
    return Stat(str(doc.get("creator", "")), totals, modules)


def _int(v: object) -> int:
    """A Yosys JSON parameter: a binary string ("0101"), or an int."""
    if isinstance(v, int):
        return v
    if isinstance(v, str) and v and set(v) <= {"0", "1"}:
        return int(v, 2)
    raise ValueError(f"not a number: {v!r}")


def parse_memories(doc: dict, macro_names: set[str], bank_prefix: str = "dna_bank",
                   where: str = "memories") -> tuple[Memory, ...]:
    """Every `$mem_v2` and SRAM-bank cell of a Yosys `write_json` document, classified:
    banks and cells in `macro_names` are macros, memories without a write port ROMs."""
    out = []
    try:
        for mod in doc["modules"].values():
            for name, cell in mod.get("cells", {}).items():
                out.append(_memory(_name(name), cell, macro_names, bank_prefix))
    except (KeyError, TypeError, AttributeError, ValueError) as e:
        raise HwgenError(f"{where}: not a Yosys memory list ({e})") from None
    return tuple(sorted(out, key=lambda m: m.name))


def _memory(name: str, cell: dict, macros: set[str], bank_prefix: str) -> Memory:
    p, typ = cell["parameters"], _name(cell["type"])
    if typ != "$mem_v2":  # an SRAM bank black box: W bits x D words, one write, one read
        if bank_prefix not in typ:
            raise ValueError(f"cell {name} has type {typ}")
        return Memory(name, "macro", _int(p["W"]), _int(p["D"]), 1, 1, True)
    rd, wr = _int(p["RD_PORTS"]), _int(p["WR_PORTS"])
    sync = rd > 0 and set(str(p["RD_CLK_ENABLE"])) == {"1"}
    kind: MemoryKind = "macro" if name in macros else ("rom" if wr == 0 else "flops")
    return Memory(name, kind, _int(p["WIDTH"]), _int(p["SIZE"]), rd, wr, sync)


def parse_macro_list(text: str) -> set[str]:
    """Cell names from `select -list` lines ("module/cell")."""
    return {line.split("/", 1)[1] for line in text.splitlines() if "/" in line}
