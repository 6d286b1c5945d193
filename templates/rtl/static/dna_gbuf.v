// dna_gbuf: a double-buffered global buffer for inputs or weights: 2 x D words of W bits.
// The DMA side writes up to LANES consecutive words per cycle; the array side reads one
// word per lane per cycle (NL lanes, each its own address: an ideal banked SRAM with
// one bank per lane, as the cost model assumes).
`default_nettype none
module dna_gbuf #(
    parameter integer W = 8,
    parameter integer D = 64,    // words per slot
    parameter integer A = 7,     // address bits (covers 2*D)
    parameter integer NL = 4,    // read lanes
    parameter integer LANES = 8  // DMA write width in words
) (
    input  wire               clk,
    input  wire [NL*A-1:0]    raddr,
    output wire [NL*W-1:0]    rdata,
    input  wire [A-1:0]       waddr,
    input  wire [LANES-1:0]   wmask,
    input  wire [LANES*W-1:0] wdata
);
    reg [W-1:0] mem [0:2*D-1];
    genvar l;
    generate
        for (l = 0; l < NL; l = l + 1) begin : g_rd
            assign rdata[l*W +: W] = mem[raddr[l*A +: A]];
        end
    endgenerate
    integer i;
    always @(posedge clk)
        for (i = 0; i < LANES; i = i + 1)
            if (wmask[i]) mem[waddr + i[A-1:0]] <= wdata[i*W +: W];
endmodule
`default_nettype wire
