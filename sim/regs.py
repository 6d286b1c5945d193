"""The AXI4-Lite registers of dna_top (templates/rtl/static/dna_axil.v) that the
testbenches use: the cocotb host (sim.tb_engine) and the fast one (sim/fast_tb.cpp, given
them in its job by sim.fast)."""
REG_CTRL = 0x00  # write bit 0: start
REG_CYC_LO, REG_CYC_HI = 0x08, 0x0C  # cycles from start to done
REG_OPS_DONE = 0x10
REG_FRAMES = 0x1C  # frames to run from the next start
REG_OP_BASE = 0x100  # op i: begin stamp at + 8 i, end stamp at + 8 i + 4
