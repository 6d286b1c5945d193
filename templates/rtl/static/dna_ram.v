// dna_ram: one memory bank as an SRAM compiler or an FPGA builds it: D words of W bits,
// one write port and one synchronous read port (rdata is the word at raddr after the
// previous clock edge: a word written at the edge it is read is forwarded past the array,
// which reads the old one). Yosys infers RAMB18E1/RAMB36E1 or LUTRAM on 7-series; the
// ASIC flow makes it an SRAM macro when it has at least 32 words (hwgen/synth/scripts.py).
`default_nettype none
module dna_ram #(
    parameter integer W = 8,
    parameter integer D = 64,
    parameter integer A = 6      // address bits (2^A >= D)
) (
    input  wire         clk,
    input  wire         we,
    input  wire [A-1:0] waddr,
    input  wire [W-1:0] wdata,
    input  wire [A-1:0] raddr,
    output wire [W-1:0] rdata
);
    reg [W-1:0] mem [0:D-1];
    reg [W-1:0] q, wd_q;
    reg hit;
    always @(posedge clk) begin
        if (we) mem[waddr] <= wdata;
        q <= mem[raddr];
        hit <= we && waddr == raddr;
        wd_q <= wdata;
    end
    assign rdata = hit ? wd_q : q;
endmodule
`default_nettype wire
