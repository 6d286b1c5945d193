// dna_gbuf: a double-buffered global buffer for inputs or weights, 2 x D words of W bits,
// built from NB banks (dna_ram: one write and one synchronous read port each). Word a
// lives in row a / NB of bank (a + SKEW * (a / NB)) % NB (skewed storage). The DMA side
// writes up to LANES consecutive words per cycle (SKEW <= NB - LANES, so each goes to its
// own bank); the array side reads one word per lane per cycle, each lane its own address,
// and gets it one cycle later (a word written at that edge is forwarded, so the data is
// the buffer's content after the edge). The emitter picks NB and SKEW so that the lanes
// of every op read distinct words from distinct banks (hwgen/rtl/banks.py): lanes that
// read the same word share its bank's read. Each port is scattered to the bank its
// address names: a crossbar, written as one loop over the lanes or beat words.
`default_nettype none
module dna_gbuf #(
    parameter integer W = 8,
    parameter integer D = 64,    // words per slot (a power of two, >= NB)
    parameter integer A = 7,     // address bits (covers 2*D)
    parameter integer NL = 4,    // read lanes
    parameter integer LANES = 8, // DMA write width in words
    parameter integer NB = 8,    // banks (a power of two, >= LANES)
    parameter integer BA = 3,    // log2(NB)
    parameter integer SKEW = 0   // row r is rotated by SKEW * r banks (<= NB - LANES)
) (
    input  wire               clk,
    input  wire [NL*A-1:0]    raddr,
    output wire [NL*W-1:0]    rdata,
    input  wire [A-1:0]       waddr,
    input  wire [LANES-1:0]   wmask,
    input  wire [LANES*W-1:0] wdata
);
    localparam integer RA = A - BA;  // row address bits
    localparam [31:0] SK32 = SKEW;
    function [BA-1:0] bank_of;       // word a: row a >> BA, this bank
        input [A-1:0] a;
        /* verilator lint_off UNUSEDSIGNAL */  // the bank is the product mod NB
        reg [A-1:0] p;
        /* verilator lint_on UNUSEDSIGNAL */
        begin
            p = SK32[A-1:0] * (a >> BA);
            bank_of = a[BA-1:0] + p[BA-1:0];
        end
    endfunction
    wire [W-1:0] bank_q [0:NB-1];
    // read: each lane puts its row on the bank it addresses (lanes that address one
    // bank read one word, by construction)
    reg [RA-1:0] ra [0:NB-1];
    // write: each word of the DMA's beat goes to its own bank (LANES <= NB)
    reg w_we [0:NB-1];
    reg [RA-1:0] w_row [0:NB-1];
    reg [W-1:0] w_d [0:NB-1];
    reg [A-1:0] wa;
    integer i, j, k;
    always @* begin
        for (j = 0; j < NB; j = j + 1) begin
            ra[j] = {RA{1'b0}};
            w_we[j] = 1'b0;
            w_row[j] = {RA{1'b0}};
            w_d[j] = {W{1'b0}};
        end
        for (i = 0; i < NL; i = i + 1) ra[bank_of(raddr[i*A +: A])] = raddr[i*A + BA +: RA];
        for (k = 0; k < LANES; k = k + 1) begin
            wa = waddr + k[A-1:0];
            if (wmask[k]) begin
                w_we[bank_of(wa)] = 1'b1;
                w_row[bank_of(wa)] = wa[A-1:BA];
                w_d[bank_of(wa)] = wdata[k*W +: W];
            end
        end
    end
    genvar b, l;
    generate
        for (b = 0; b < NB; b = b + 1) begin : g_bank
            dna_ram #(.W(W), .D(2*D/NB), .A(RA)) u_ram (
                .clk(clk), .we(w_we[b]), .waddr(w_row[b]), .wdata(w_d[b]), .raddr(ra[b]),
                .rdata(bank_q[b]));
        end
        for (l = 0; l < NL; l = l + 1) begin : g_lane
            reg [BA-1:0] sel;  // the bank this lane read at the last edge
            always @(posedge clk) sel <= bank_of(raddr[l*A +: A]);
            assign rdata[l*W +: W] = bank_q[sel];
        end
    endgenerate
endmodule
`default_nettype wire
