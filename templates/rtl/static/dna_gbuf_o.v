// dna_gbuf_o: the double-buffered output (partial-sum) global buffer, 2 x D words of
// ACCW bits. Array side: one read or write per lane per cycle (the output unit drains
// RFs into it and reloads revisited tiles from it). DMA side: LANES consecutive words
// read per cycle (write-back to DRAM) and written per cycle (psum reload from DRAM).
`default_nettype none
module dna_gbuf_o #(
    parameter integer W = 32,
    parameter integer D = 64,
    parameter integer A = 7,
    parameter integer NL = 4,
    parameter integer LANES = 8,   // DMA read width (write-back)
    parameter integer PLANES = 8   // DMA write width (psum reload)
) (
    input  wire                clk,
    input  wire                lwe,      // lanes write (else read)
    input  wire [NL*A-1:0]     laddr,
    input  wire [NL*W-1:0]     lwdata,
    output wire [NL*W-1:0]     lrdata,
    input  wire [A-1:0]        draddr,
    output wire [LANES*W-1:0]  drdata,
    input  wire [A-1:0]        dwaddr,
    input  wire [PLANES-1:0]   dwmask,
    input  wire [PLANES*W-1:0] dwdata
);
    reg [W-1:0] mem [0:2*D-1];
    genvar l;
    generate
        for (l = 0; l < NL; l = l + 1) begin : g_lane
            assign lrdata[l*W +: W] = mem[laddr[l*A +: A]];
        end
        for (l = 0; l < LANES; l = l + 1) begin : g_drd
            assign drdata[l*W +: W] = mem[draddr + l[A-1:0]];
        end
    endgenerate
    integer i;
    always @(posedge clk) begin
        if (lwe)
            for (i = 0; i < NL; i = i + 1) mem[laddr[i*A +: A]] <= lwdata[i*W +: W];
        for (i = 0; i < PLANES; i = i + 1)
            if (dwmask[i]) mem[dwaddr + i[A-1:0]] <= dwdata[i*W +: W];
    end
endmodule
`default_nettype wire
