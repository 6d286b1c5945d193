"""Quantised networks as .npz files (schema dna-quant/1), written atomically."""
from __future__ import annotations

import io
from dataclasses import fields
from pathlib import Path
from typing import Union

import numpy as np

from dna.fileio import write_atomic
from dna.quant.contract import QuantError, QuantizedNetwork, QuantParams, params_type
from dna.workload.ir import Network

SCHEMA = "dna-quant/1"  # version tag of the .npz layout


def save_npz(qnet: QuantizedNetwork, path: Union[str, Path]) -> None:
    """Write `qnet` as .npz (keys "<node>/<field>", plus schema, network, bits, input_scale,
    "<node>/kind" and "<node>/scale"), atomically (dna.fileio.write_atomic)."""
    arrays = {"schema": np.array(SCHEMA), "network": np.array(qnet.network.name),
              "bits": np.array(qnet.bits), "input_scale": np.array(qnet.input_scale)}
    for node in qnet.network.nodes:
        arrays[f"{node.name}/kind"] = np.array(node.kind)
        arrays[f"{node.name}/scale"] = np.array(qnet.scales[node.name])
        q = qnet.nodes.get(node.name)
        for f in fields(q) if q is not None else ():
            arrays[f"{node.name}/{f.name}"] = np.asarray(getattr(q, f.name))
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    write_atomic(path, buf.getvalue())


def load_npz(path: Union[str, Path], net: Network) -> QuantizedNetwork:
    """Read a file written by `save_npz` for `net`; QuantError names the file and the
    missing or bad key, or lists every contract violation."""
    try:
        data = dict(np.load(path, allow_pickle=False))
    except Exception as e:  # not a file, not a zip, truncated, pickled
        raise QuantError(f"{path}: not a readable .npz file ({type(e).__name__}: {e})") from e

    def get(key: str) -> np.ndarray:
        if key not in data:
            raise QuantError(f"{path}: missing key {key!r}")
        return data[key]

    if str(get("schema")) != SCHEMA:
        raise QuantError(f"{path}: key 'schema' is {str(get('schema'))!r}, expected {SCHEMA!r}")
    if str(get("network")) != net.name:
        raise QuantError(f"{path}: key 'network' is {str(get('network'))!r}, expected {net.name!r}")
    params: dict[str, QuantParams] = {}
    for node in net.nodes:
        if str(get(f"{node.name}/kind")) != node.kind:
            raise QuantError(f"{path}: key '{node.name}/kind' is {str(get(f'{node.name}/kind'))!r},"
                             f" expected {node.kind!r}")
        cls = params_type(node)
        if cls is not None:
            try:
                params[node.name] = cls(**{f.name: get(f"{node.name}/{f.name}")
                                           for f in fields(cls)})
            except QuantError as e:
                raise QuantError(f"{path}: node {node.name!r}: {e}") from e
    scales = {n.name: float(get(f"{n.name}/scale")) for n in net.nodes}
    try:
        return QuantizedNetwork(net, int(get("bits")), float(get("input_scale")), params, scales)
    except QuantError as e:
        raise QuantError(f"{path}: {e}") from e
