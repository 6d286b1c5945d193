"""Cell tables of the synthesis report: a 45 nm area for every generic gate the ASIC flow
maps to, and the LUTs each 7-series distributed-RAM or shift-register primitive occupies.

Every figure cites its source; [N1], [N2], [U1] refer to `SOURCES` at the end.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GateArea:
    """One Yosys generic gate, the Nangate 45 nm cell with the same function, its area."""

    cell: str  # Nangate Open Cell Library cell (drive strength X1)
    area_um2: float  # cell width x 1.4 um row height, from the library's LEF SIZE line
    sequential: bool = False  # a flip-flop or latch


# Yosys generic gate -> Nangate 45 nm X1 cell. Areas: LEF `SIZE w BY 1.4` [N1], i.e. w x 1.4
# um^2, which equals the liberty `area` attribute (checked: AND2_X1 1.064 in [N2]).
NANGATE45: dict[str, GateArea] = {
    "$_NOT_": GateArea("INV_X1", 0.532),  # SIZE 0.38 BY 1.4 [N1]
    "$_BUF_": GateArea("BUF_X1", 0.798),  # SIZE 0.57 BY 1.4 [N1]
    "$_AND_": GateArea("AND2_X1", 1.064),  # SIZE 0.76 BY 1.4 [N1]; area 1.064000 [N2]
    "$_NAND_": GateArea("NAND2_X1", 0.798),  # SIZE 0.57 BY 1.4 [N1]
    "$_OR_": GateArea("OR2_X1", 1.064),  # SIZE 0.76 BY 1.4 [N1]
    "$_NOR_": GateArea("NOR2_X1", 0.798),  # SIZE 0.57 BY 1.4 [N1]
    "$_XOR_": GateArea("XOR2_X1", 1.596),  # SIZE 1.14 BY 1.4 [N1]
    "$_XNOR_": GateArea("XNOR2_X1", 1.596),  # SIZE 1.14 BY 1.4 [N1]
    "$_MUX_": GateArea("MUX2_X1", 1.862),  # SIZE 1.33 BY 1.4 [N1]
    "$_AOI3_": GateArea("AOI21_X1", 1.064),  # !((A&B)|C); SIZE 0.76 BY 1.4 [N1]
    "$_OAI3_": GateArea("OAI21_X1", 1.064),  # !((A|B)&C); SIZE 0.76 BY 1.4 [N1]
    "$_AOI4_": GateArea("AOI22_X1", 1.33),  # !((A&B)|(C&D)); SIZE 0.95 BY 1.4 [N1]
    "$_OAI4_": GateArea("OAI22_X1", 1.33),  # !((A|B)&(C|D)); SIZE 0.95 BY 1.4 [N1]
    "$_DFF_P_": GateArea("DFF_X1", 4.522, True),  # SIZE 3.23 BY 1.4 [N1]
    "$_DFF_PN0_": GateArea("DFFR_X1", 5.32, True),  # async reset (RN); SIZE 3.8 BY 1.4 [N1]
    "$_DFF_PN1_": GateArea("DFFS_X1", 5.32, True),  # async set (SN); SIZE 3.8 BY 1.4 [N1]
    "$_DFFSR_PNN_": GateArea("DFFRS_X1", 6.384, True),  # SIZE 4.56 BY 1.4 [N1]
    "$_DLATCH_P_": GateArea("DLH_X1", 2.66, True),  # SIZE 1.9 BY 1.4 [N1]
    "$_DLATCH_N_": GateArea("DLL_X1", 2.66, True),  # SIZE 1.9 BY 1.4 [N1]
}
# What the ASIC flow's `abc -g` may emit (NOT and BUF are always allowed), and the flip-flop
# and latch types its `dfflegalize` leaves: together exactly the keys of NANGATE45.
ABC_GATES = "AND,NAND,OR,NOR,XOR,XNOR,MUX,AOI3,OAI3,AOI4,OAI4"
DFF_TYPES = tuple(k for k, g in NANGATE45.items() if g.sequential)
NOT_CELLS = frozenset({"$scopeinfo"})  # bookkeeping cells Yosys keeps; no silicon

# 7-series LUTs per distributed-RAM / shift-register primitive: UG474 [U1] Table 1 (a
# RAM64X1S is one LUT6, a RAM32M / RAM64M four LUTs of a SLICEM, a dual-port RAMnX1D two,
# RAM128X1D and RAM256X1S four, RAM128X1S two); an SRL16E or SRLC32E is one LUT.
XC7_LUTRAM_LUTS: dict[str, int] = {
    "RAM32X1S": 1, "RAM64X1S": 1, "RAM128X1S": 2, "RAM256X1S": 4,
    "RAM32X1D": 2, "RAM64X1D": 2, "RAM128X1D": 4, "RAM32M": 4, "RAM64M": 4,
}
XC7_SRL_LUTS: dict[str, int] = {"SRL16E": 1, "SRLC32E": 1}
XC7_LUTS = tuple(f"LUT{i}" for i in range(1, 7))
XC7_FFS = ("FDRE", "FDSE", "FDCE", "FDPE")

SOURCES = (
    ("[N1] Nangate 45 nm Open Cell Library (PDKv1_3_v2010_12, FreePDK45), "
     "NangateOpenCellLibrary.macro.mod.lef as shipped in The-OpenROAD-Project/OpenROAD, "
     "test/Nangate45/Nangate45_stdcell.lef (commit 5c9e4871), MACRO ... SIZE lines"),
    ("[N2] the same library's typical-corner liberty, The-OpenROAD-Project/OpenROAD "
     "test/Nangate45/Nangate45_typ_no_max_cap.lib (commit f8cec2cf), cell (AND2_X1) "
     "area : 1.064000"),
    ("[U1] Xilinx UG474 (v1.9), 7 Series FPGAs Configurable Logic Block User Guide, "
     "Table 1 'Distributed RAM Configuration' (LUTs per primitive) and 'Shift Registers' "
     "(one LUT per SRL16E / SRLC32E)"),
)
