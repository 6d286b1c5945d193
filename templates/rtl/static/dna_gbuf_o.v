// dna_gbuf_o: the double-buffered output (partial-sum) global buffer, 2 x D words of ACCW
// bits, built from 2 x NB banks (dna_ram: one write and one synchronous read port each):
// word a of slot s = a / D lives in row (a % D) / NB of bank (s, (a % D + SKEW * row) %
// NB) (skewed storage, as in dna_gbuf). Each slot is in one phase at a time (prepared by
// the DMA, worked on by the output unit, written back by the DMA; dna_dma_o, dna_aou), so
// a slot's banks see one writer and one reader per cycle:
//   writers: the output unit's lanes draining accumulators (lwe, lwaddr: one word per
//     lane) or the DMA reloading partial sums (PLANES consecutive words);
//   readers: the output unit's lanes reloading accumulators (lraddr, the addresses of its
//     next position: data in lrdata one cycle later) or the DMA writing back (LANES
//     consecutive words at draddr; data in drdata one cycle later). The DMA's read wins a
//     slot's banks (the output unit never reloads from a slot being written back).
// The emitter picks NB (>= LANES and PLANES) and SKEW (<= NB - LANES, so a beat's words
// take distinct banks) so that no op's lanes put two words in one bank
// (hwgen/rtl/banks.py). A word written at the edge it is read is forwarded (dna_ram).
`default_nettype none
module dna_gbuf_o #(
    parameter integer W = 32,
    parameter integer D = 64,      // words per slot (a power of two, >= 2 * NB)
    parameter integer A = 7,       // address bits (covers 2*D)
    parameter integer NL = 4,
    parameter integer LANES = 8,   // DMA read width (write-back)
    parameter integer PLANES = 8,  // DMA write width (psum reload)
    parameter integer NB = 8,      // banks per slot (a power of two, >= LANES, PLANES)
    parameter integer BA = 3,      // log2(NB)
    parameter integer SKEW = 0     // row r is rotated by SKEW * r banks (<= NB - LANES)
) (
    input  wire                clk,
    input  wire                lwe,      // lanes write (drain)
    input  wire [NL*A-1:0]     lwaddr,
    input  wire [NL*W-1:0]     lwdata,
    input  wire [NL*A-1:0]     lraddr,   // lanes read (reload), one cycle ahead
    output wire [NL*W-1:0]     lrdata,
    input  wire                dre,      // DMA read (write-back), one cycle ahead
    input  wire [A-1:0]        draddr,
    output wire [LANES*W-1:0]  drdata,
    input  wire [A-1:0]        dwaddr,
    input  wire [PLANES-1:0]   dwmask,
    input  wire [PLANES*W-1:0] dwdata
);
    localparam integer RA = A - 1 - BA;  // row bits within a slot
    localparam [31:0] SK32 = SKEW;
    function [BA-1:0] bank_of;           // word a of a slot: row a >> BA, this bank
        input [A-2:0] a;
        /* verilator lint_off UNUSEDSIGNAL */  // the bank is the product mod NB
        reg [A-2:0] p;
        /* verilator lint_on UNUSEDSIGNAL */
        begin
            p = SK32[A-2:0] * (a >> BA);
            bank_of = a[BA-1:0] + p[BA-1:0];
        end
    endfunction
    wire [W-1:0] bank_q [0:2*NB-1];      // bank (s, b) at index s*NB + b
    // Each bank's ports, scattered from the lanes and the DMA (within one op, distinct
    // words of one beat or one lane position fall in distinct banks):
    //   write: the DMA's psum reload beat (PLANES words), then the lanes' drain (the two
    //     never write one slot in one cycle);
    //   read row: the lanes' reload rows (in both slots), then the DMA's write-back beat
    //     (LANES words) in its slot.
    reg we [0:2*NB-1];
    reg [RA-1:0] wrow [0:2*NB-1], rrow [0:2*NB-1];
    reg [W-1:0] wd [0:2*NB-1];
    reg [A-2:0] wa, ra;
    integer i, j, k;
    always @* begin
        wa = {(A-1){1'b0}};
        ra = {(A-1){1'b0}};
        for (j = 0; j < 2*NB; j = j + 1) begin
            we[j] = 1'b0;
            wrow[j] = {RA{1'b0}};
            wd[j] = {W{1'b0}};
            rrow[j] = {RA{1'b0}};
        end
        for (k = 0; k < PLANES; k = k + 1) begin
            wa = dwaddr[A-2:0] + k[A-2:0];
            if (dwmask[k]) begin
                we[{dwaddr[A-1], bank_of(wa)}] = 1'b1;
                wrow[{dwaddr[A-1], bank_of(wa)}] = wa[A-2:BA];
                wd[{dwaddr[A-1], bank_of(wa)}] = dwdata[k*W +: W];
            end
        end
        for (i = 0; i < NL; i = i + 1) begin
            if (lwe) begin
                we[{lwaddr[i*A + A-1], bank_of(lwaddr[i*A +: A-1])}] = 1'b1;
                wrow[{lwaddr[i*A + A-1], bank_of(lwaddr[i*A +: A-1])}] = lwaddr[i*A + BA +: RA];
                wd[{lwaddr[i*A + A-1], bank_of(lwaddr[i*A +: A-1])}] = lwdata[i*W +: W];
            end
            rrow[{1'b0, bank_of(lraddr[i*A +: A-1])}] = lraddr[i*A + BA +: RA];
            rrow[{1'b1, bank_of(lraddr[i*A +: A-1])}] = lraddr[i*A + BA +: RA];
        end
        if (dre)
            for (k = 0; k < LANES; k = k + 1) begin
                ra = draddr[A-2:0] + k[A-2:0];
                rrow[{draddr[A-1], bank_of(ra)}] = ra[A-2:BA];
            end
    end
    genvar s, b, l;
    generate
        for (s = 0; s < 2; s = s + 1) begin : g_slot
            for (b = 0; b < NB; b = b + 1) begin : g_bank
                dna_ram #(.W(W), .D(D/NB), .A(RA)) u_ram (
                    .clk(clk), .we(we[s*NB + b]), .waddr(wrow[s*NB + b]), .wdata(wd[s*NB + b]),
                    .raddr(rrow[s*NB + b]), .rdata(bank_q[s*NB + b]));
            end
        end
        for (l = 0; l < NL; l = l + 1) begin : g_lane
            reg [BA:0] sel;  // {slot, bank} this lane read at the last edge
            always @(posedge clk) sel <= {lraddr[l*A + A-1], bank_of(lraddr[l*A +: A-1])};
            assign lrdata[l*W +: W] = bank_q[sel];
        end
        for (l = 0; l < LANES; l = l + 1) begin : g_dma
            reg [BA:0] sel;
            wire [A-2:0] a = draddr[A-2:0] + l[A-2:0];
            always @(posedge clk) sel <= {draddr[A-1], bank_of(a)};
            assign drdata[l*W +: W] = bank_q[sel];
        end
    endgenerate
endmodule
`default_nettype wire
