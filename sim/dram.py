"""The DRAM the engine talks to in simulation: cocotbext-axi's AXI slave channels and
`Memory`, driven by a request loop that adds what a fidelity run needs.

* latency: a read burst's first beat leaves `latency` cycles after its AR handshake, a
  write's B response `latency` cycles after its last W beat; requests pipeline (any
  number outstanding), as in a DRAM controller.
* bandwidth: R and W beats share one token bucket that fills at `beats_per_cycle`
  (the target's bytes per cycle / bus bytes), so reads plus writes never exceed the
  target's DRAM bandwidth.
* random back-pressure (correctness runs): every channel pauses at random on top.
"""
from __future__ import annotations

import collections
import logging
import random

import cocotb
from cocotb.triggers import Event, RisingEdge, Timer
from cocotbext.axi import AxiBus
from cocotbext.axi.axi_channels import (
    AxiARSink,
    AxiAWSink,
    AxiBSource,
    AxiRSource,
    AxiWSink,
)
from cocotbext.axi.memory import Memory


class TokenBucket:
    """Shared DRAM bandwidth: `rate` beats per cycle, at most `depth` banked."""

    def __init__(self, rate: float, depth: float = 2.0):
        self.rate, self.depth = rate, depth
        self.level = depth
        self.cycle = -1

    def take(self, cycle: int) -> bool:
        """One beat's worth of bandwidth in `cycle`, if available."""
        if cycle != self.cycle:
            self.level = min(self.depth, self.level + self.rate * max(cycle - self.cycle, 1))
            self.cycle = cycle
        if self.level >= 1.0:
            self.level -= 1.0
            return True
        return False


def _pauses(busy, bucket: TokenBucket, clock_ps: int, rng: random.Random | None,
            p_pause: float):
    """Pause generator: pause unless a beat is waiting and the bucket grants it."""
    while True:
        cyc = cocotb.utils.get_sim_time("ps") // clock_ps
        pause = rng is not None and rng.random() < p_pause
        if not pause and busy():
            pause = not bucket.take(cyc)
        yield pause


def _random(rng: random.Random, p: float):
    while True:
        yield rng.random() < p


class DramModel(Memory):
    """AXI4 slave memory with latency, shared bandwidth and optional back-pressure."""

    def __init__(self, dut, prefix: str, clock, reset, *, size: int, clock_ps: int,
                 latency: int, beats_per_cycle: float, backpressure_seed: int | None = None,
                 p_pause: float = 0.3):
        super().__init__(size)
        bus = AxiBus.from_prefix(dut, prefix)
        self.clock, self.clock_ps, self.latency = clock, clock_ps, latency
        self.ar = AxiARSink(bus.read.ar, clock, reset, False)
        self.r = AxiRSource(bus.read.r, clock, reset, False)
        self.aw = AxiAWSink(bus.write.aw, clock, reset, False)
        self.w = AxiWSink(bus.write.w, clock, reset, False)
        self.b = AxiBSource(bus.write.b, clock, reset, False)
        for ch in (self.ar, self.r, self.aw, self.w, self.b):
            ch.log.setLevel(logging.WARNING)
        self.byte_lanes = len(self.r.bus.rdata) // 8
        bucket = TokenBucket(beats_per_cycle)
        rng = random.Random(backpressure_seed) if backpressure_seed is not None else None
        self.r.set_pause_generator(_pauses(lambda: not self.r.queue.empty(), bucket, clock_ps,
                                           rng, p_pause))
        self.w.set_pause_generator(_pauses(lambda: bool(dut_value(bus.write.w.wvalid)),
                                           bucket, clock_ps, rng, p_pause))
        if rng is not None:
            for ch in (self.ar, self.aw, self.b):
                ch.set_pause_generator(_random(random.Random(rng.random()), p_pause))
        self._reads: collections.deque = collections.deque()
        self._read_event = Event()
        self._writes: collections.deque = collections.deque()
        self._write_event = Event()
        for coro in (self._accept_reads(), self._serve_reads(), self._accept_writes(),
                     self._respond_writes()):
            cocotb.start_soon(coro)

    def _now(self) -> int:
        return cocotb.utils.get_sim_time("ps") // self.clock_ps

    async def _until(self, cycle: int) -> None:
        wait = cycle - self._now()
        if wait > 0:
            await Timer(wait * self.clock_ps, "ps")
            await RisingEdge(self.clock)

    async def _accept_reads(self):
        while True:
            ar = await self.ar.recv()
            self._reads.append((self._now(), int(ar.arid), int(ar.araddr), int(ar.arlen) + 1))
            self._read_event.set()

    async def _serve_reads(self):
        lanes = self.byte_lanes
        while True:
            while not self._reads:
                self._read_event.clear()
                await self._read_event.wait()
            t, rid, addr, beats = self._reads.popleft()
            await self._until(t + self.latency)
            base = addr - addr % lanes
            assert addr % 4096 + beats * lanes <= 4096 + addr % lanes, "burst crosses 4 KiB"
            for n in range(beats):
                r = self.r._transaction_obj()
                r.rid, r.rresp, r.rlast = rid, 0, int(n == beats - 1)
                r.rdata = int.from_bytes(self.read(base + n * lanes, lanes), "little")
                await self.r.send(r)

    async def _accept_writes(self):
        lanes = self.byte_lanes
        while True:
            aw = await self.aw.recv()
            addr, beats = int(aw.awaddr), int(aw.awlen) + 1
            base = addr - addr % lanes
            for n in range(beats):
                w = await self.w.recv()
                assert int(w.wlast) == (n == beats - 1), "WLAST does not match AWLEN"
                strb = int(w.wstrb)
                data = beat_bytes(w.wdata, strb, lanes)
                old = bytearray(self.read(base + n * lanes, lanes))
                for j in range(lanes):
                    if strb >> j & 1:
                        old[j] = data[j]
                self.write(base + n * lanes, bytes(old))
            self._writes.append((self._now(), int(aw.awid)))
            self._write_event.set()

    async def _respond_writes(self):
        while True:
            while not self._writes:
                self._write_event.clear()
                await self._write_event.wait()
            t, bid = self._writes.popleft()
            await self._until(t + self.latency)
            b = self.b._transaction_obj()
            b.bid, b.bresp = bid, 0
            await self.b.send(b)


def beat_bytes(wdata, strb: int, lanes: int) -> bytes:
    """WDATA of one beat as `lanes` bytes, little-endian. A 4-state simulator (Icarus) may
    leave X in the lanes whose strobe is off; those read as 0, X in a strobed lane fails."""
    try:
        return int(wdata).to_bytes(lanes, "little")
    except ValueError:
        bits = str(wdata)  # MSB first, one of 0 1 X Z ... per bit
    out = bytearray(lanes)
    for j in range(lanes):
        byte = bits[len(bits) - 8 * (j + 1):len(bits) - 8 * j]
        if strb >> j & 1:
            out[j] = int(byte, 2)  # ValueError on X/Z, as int(wdata) gives
    return bytes(out)


def dut_value(handle) -> int:
    """Integer value of a signal (0 when it holds X/Z)."""
    try:
        return int(handle.value)
    except ValueError:
        return 0
