// dna_gbuf: a double-buffered global buffer for inputs or weights, 2 x D words of W bits,
// built from NB banks (dna_ram: one write and one synchronous read port each). Word a
// lives in bank a % NB, row a / NB. The DMA side writes up to LANES consecutive words per
// cycle (LANES <= NB, so each goes to its own bank); the array side reads one word per
// lane per cycle, each lane its own address, and gets it one cycle later (a word written
// at that edge is forwarded, so the data is the buffer's content after the edge). The emitter
// picks NB so that the lanes of every op read distinct words from distinct banks
// (hwgen/rtl/banks.py): lanes that read the same word share its bank's read, and a bank's
// row is the OR of the rows of the lanes that address it (all equal, by construction).
`default_nettype none
module dna_gbuf #(
    parameter integer W = 8,
    parameter integer D = 64,    // words per slot (a power of two, >= NB)
    parameter integer A = 7,     // address bits (covers 2*D)
    parameter integer NL = 4,    // read lanes
    parameter integer LANES = 8, // DMA write width in words
    parameter integer NB = 8,    // banks (a power of two, >= LANES)
    parameter integer BA = 3     // log2(NB)
) (
    input  wire               clk,
    input  wire [NL*A-1:0]    raddr,
    output wire [NL*W-1:0]    rdata,
    input  wire [A-1:0]       waddr,
    input  wire [LANES-1:0]   wmask,
    input  wire [LANES*W-1:0] wdata
);
    localparam integer RA = A - BA;  // row address bits
    wire [NB*W-1:0] bank_q;
    wire [NB-1:0] wm;      // write mask and data padded to NB words
    wire [NB*W-1:0] wdv;
    wire any_w = |wmask;
    genvar b, l;
    generate
        if (NB > LANES) begin : g_pad
            assign wm = {{(NB-LANES){1'b0}}, wmask};
            assign wdv = {{((NB-LANES)*W){1'b0}}, wdata};
        end else begin : g_nopad
            assign wm = wmask;
            assign wdv = wdata;
        end
        for (b = 0; b < NB; b = b + 1) begin : g_bank
            // write: the DMA word that falls in this bank, if any
            wire [BA-1:0] wi;
            wire [RA-1:0] wrow;
            dna_beat_word #(.A(A), .BA(BA), .B(b)) u_w (.addr(waddr), .idx(wi), .row(wrow));
            wire we = any_w && wm[wi];  // any_w: wi is defined only when a beat arrives
            wire [W-1:0] wd = wdv[wi*W +: W];
            // read: the row of the lanes that address this bank
            reg [RA-1:0] ra;
            integer i;
            always @* begin
                ra = {RA{1'b0}};
                for (i = 0; i < NL; i = i + 1)
                    if (raddr[i*A +: BA] == b[BA-1:0]) ra = ra | raddr[i*A + BA +: RA];
            end
            dna_ram #(.W(W), .D(2*D/NB), .A(RA)) u_ram (
                .clk(clk), .we(we), .waddr(wrow), .wdata(wd), .raddr(ra),
                .rdata(bank_q[b*W +: W]));
        end
        for (l = 0; l < NL; l = l + 1) begin : g_lane
            reg [BA-1:0] sel;  // the bank this lane read at the last edge
            always @(posedge clk) sel <= raddr[l*A +: BA];
            assign rdata[l*W +: W] = bank_q[sel*W +: W];
        end
    endgenerate
endmodule
`default_nettype wire
