// dna_gbuf_o: the double-buffered output (partial-sum) global buffer, 2 x D words of ACCW
// bits, built from 2 x NB banks (dna_ram: one write and one synchronous read port each):
// word a of slot s = a / D lives in bank (s, a % NB), row (a % D) / NB. Each slot is in
// one phase at a time (prepared by the DMA, worked on by the output unit, written back by
// the DMA; dna_dma_o, dna_aou), so a slot's banks see one writer and one reader per
// cycle:
//   writers: the output unit's lanes draining accumulators (lwe, lwaddr: one word per
//     lane) or the DMA reloading partial sums (PLANES consecutive words);
//   readers: the output unit's lanes reloading accumulators (lraddr, the addresses of its
//     next position: data in lrdata one cycle later) or the DMA writing back (LANES
//     consecutive words at draddr; data in drdata one cycle later). The DMA's read wins a
//     slot's banks (the output unit never reloads from a slot being written back).
// The emitter picks NB (>= LANES and PLANES) so that no op's lanes put two words in one
// bank (hwgen/rtl/banks.py). A word written at the edge it is read is forwarded (dna_ram).
`default_nettype none
module dna_gbuf_o #(
    parameter integer W = 32,
    parameter integer D = 64,      // words per slot (a power of two, >= 2 * NB)
    parameter integer A = 7,       // address bits (covers 2*D)
    parameter integer NL = 4,
    parameter integer LANES = 8,   // DMA read width (write-back)
    parameter integer PLANES = 8,  // DMA write width (psum reload)
    parameter integer NB = 8,      // banks per slot (a power of two, >= LANES, PLANES)
    parameter integer BA = 3       // log2(NB)
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
    wire [2*NB*W-1:0] bank_q;            // bank (s, b) at index s*NB + b
    wire [NB-1:0] dm;                    // DMA write mask and data padded to NB words
    wire [NB*W-1:0] dwv;
    wire any_dw = |dwmask;  // dwaddr is defined only when a beat arrives
    genvar s, b, l;
    generate
        if (NB > PLANES) begin : g_pad
            assign dm = {{(NB-PLANES){1'b0}}, dwmask};
            assign dwv = {{((NB-PLANES)*W){1'b0}}, dwdata};
        end else begin : g_nopad
            assign dm = dwmask;
            assign dwv = dwdata;
        end
        for (s = 0; s < 2; s = s + 1) begin : g_slot
            for (b = 0; b < NB; b = b + 1) begin : g_bank
                // DMA side: the word of a DMA write or read that falls in this bank
                wire [BA-1:0] wi, unused_ri;  // a DMA read takes the bank from draddr (g_dma)
                wire [RA-1:0] dwrow, drrow;
                dna_beat_word #(.A(A-1), .BA(BA), .B(b)) u_dw (
                    .addr(dwaddr[A-2:0]), .idx(wi), .row(dwrow));
                wire d_we = any_dw && dm[wi] && dwaddr[A-1] == s[0];
                dna_beat_word #(.A(A-1), .BA(BA), .B(b)) u_dr (
                    .addr(draddr[A-2:0]), .idx(unused_ri), .row(drrow));
                wire d_re = dre && draddr[A-1] == s[0];
                // lane side: the lane that writes (reads) this bank, if any
                reg l_we;
                reg [RA-1:0] lwrow, lrrow;
                reg [W-1:0] lwd;
                integer i;
                always @* begin
                    l_we = 1'b0;
                    lwrow = {RA{1'b0}};
                    lwd = {W{1'b0}};
                    lrrow = {RA{1'b0}};
                    for (i = 0; i < NL; i = i + 1) begin
                        if (lwe && lwaddr[i*A +: BA] == b[BA-1:0] && lwaddr[i*A + A-1] == s[0])
                        begin
                            l_we = 1'b1;
                            lwrow = lwaddr[i*A + BA +: RA];
                            lwd = lwdata[i*W +: W];
                        end
                        if (lraddr[i*A +: BA] == b[BA-1:0]) lrrow = lraddr[i*A + BA +: RA];
                    end
                end
                wire we = l_we || d_we;
                wire [RA-1:0] wrow = l_we ? lwrow : dwrow;
                wire [W-1:0] wd = l_we ? lwd : dwv[wi*W +: W];
                wire [RA-1:0] rrow = d_re ? drrow : lrrow;
                dna_ram #(.W(W), .D(D/NB), .A(RA)) u_ram (
                    .clk(clk), .we(we), .waddr(wrow), .wdata(wd), .raddr(rrow),
                    .rdata(bank_q[(s*NB + b)*W +: W]));
            end
        end
        for (l = 0; l < NL; l = l + 1) begin : g_lane
            reg [BA:0] sel;  // {slot, bank} this lane read at the last edge
            always @(posedge clk) sel <= {lraddr[l*A + A-1], lraddr[l*A +: BA]};
            assign lrdata[l*W +: W] = bank_q[sel*W +: W];
        end
        for (l = 0; l < LANES; l = l + 1) begin : g_dma
            reg [BA:0] sel;
            always @(posedge clk)
                sel <= {draddr[A-1], draddr[BA-1:0] + l[BA-1:0]};
            assign drdata[l*W +: W] = bank_q[sel*W +: W];
        end
    endgenerate
endmodule
`default_nettype wire
