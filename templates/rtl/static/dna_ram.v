// dna_ram: one memory bank as an SRAM compiler or an FPGA builds it: D words of W bits,
// one write port and one synchronous read port (rdata is the word at raddr of the
// previous clock edge; a read and a write of the same word at one edge read the old word).
// Yosys infers RAMB18E1/RAMB36E1 or LUTRAM on 7-series; the ASIC flow makes it an SRAM
// macro when it has at least 32 words (hwgen/synth/scripts.py).
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
    output reg  [W-1:0] rdata
);
    reg [W-1:0] mem [0:D-1];
    always @(posedge clk) begin
        if (we) mem[waddr] <= wdata;
        rdata <= mem[raddr];
    end
endmodule
`default_nettype wire
